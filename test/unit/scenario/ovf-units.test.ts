import { expect } from 'chai';
import { bytesPerUnit, toMegabytes } from '../../../src/scenario/ovf-units.ts';

describe('OVF allocation units', () => {
  it('reads byte products and named units, tolerating case and spaces', () => {
    expect(bytesPerUnit('byte * 2^20')).to.equal(2 ** 20);
    expect(bytesPerUnit('BYTE*2^30')).to.equal(2 ** 30);
    expect(bytesPerUnit('byte * 10^6')).to.equal(1e6);
    expect(bytesPerUnit('2^10 * byte * 4')).to.equal(4096);
    expect(bytesPerUnit('KiloBytes')).to.equal(1024);
    expect(bytesPerUnit('megabytes')).to.equal(2 ** 20);
    expect(bytesPerUnit(undefined)).to.equal(2 ** 20);
  });

  it('refuses what is not exactly one byte unit times numbers', () => {
    for (const bad of ['Hertz*10^9', '2^20', 'byte*byte', 'byte * x', 'percent', 'byte*2^2000', 'byte*0']) {
      expect(bytesPerUnit(bad), bad).to.equal(undefined);
    }
  });

  it('rounds up to whole megabytes', () => {
    expect(toMegabytes(1, 'byte')).to.equal(1);
    expect(toMegabytes(1536, 'KB')).to.equal(2);
    expect(toMegabytes(1000, 'byte * 10^6')).to.equal(954);
    expect(toMegabytes(0, 'MB')).to.equal(0);
  });
});
