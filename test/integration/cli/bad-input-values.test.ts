// The bad-input corpus, values and names (test/helpers/bad-input.ts runs each case through the
// library and through `ediv validate --json`): what a host agent would put on an ip, tc, chmod
// or mount command line, or refuse at apply, is refused by `ediv validate` at its line and
// column, in VNX, VNUML and OVF: interface names, filetree roots and paths, MACs, addresses,
// prefixes, routes, memory, MTUs, link shaping, sequence names, exec and filetree attributes,
// the <host> section.
import { badInputSuite, put, vnuml, vnx, type BadInputCase } from '../../helpers/bad-input.ts';

const scenario = (name: string, text: string) => (d: string) => ({ scenario: put(d, name, text) });

/** One lxc VM "a" at line 5 whose children are `inner` (on line 5 too: columns count from `<vm …>`, 27 chars). */
const vm = (inner: string) => vnx(`  <vm type="lxc" name="a">${inner}</vm>`);
/** Column of the first child of `vm(...)`. */
const IN_VM = 27;

/** An OVF 1.x envelope with one VirtualSystem; `items` are its hardware items, on line 6. */
const ovf = (items: string) =>
  '<?xml version="1.0"?>\n' +
  '<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" ' +
  'xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">\n' +
  '  <NetworkSection><Info>n</Info><Network ovf:name="lan"/></NetworkSection>\n' +
  '  <VirtualSystem ovf:id="vm1"><Info>x</Info>\n' +
  '    <VirtualHardwareSection><Info>hw</Info>\n' +
  `      ${items}\n` +
  '    </VirtualHardwareSection>\n  </VirtualSystem>\n</Envelope>\n';
const item = (type: number, body: string) => `<Item><rasd:ResourceType>${type}</rasd:ResourceType>${body}</Item>`;

const ifaceCases: BadInputCase[] = [
  {
    name: 'an interface name carrying a second ip command (eth0 up⏎netns add x)',
    make: scenario('ifname-newline.xml', vm('<if id="1" net="Net0" name="eth0 up&#10;netns add x"/>')),
    line: 5,
    column: IN_VM,
    message: /interface name "eth0 up\\nnetns add x" is not a Linux interface name/,
  },
  { name: 'an interface named "."', make: scenario('ifname-dot.xml', vm('<if id="1" net="Net0" name="."/>')), line: 5, column: IN_VM, message: /interface name "\." is not allowed by Linux/ },
  { name: 'an interface named ".."', make: scenario('ifname-dotdot.xml', vm('<if id="1" net="Net0" name=".."/>')), line: 5, column: IN_VM, message: /interface name "\.\." is not allowed by Linux/ },
  { name: 'an interface named "lo"', make: scenario('ifname-lo.xml', vm('<if id="1" net="Net0" name="lo"/>')), line: 5, column: IN_VM, message: /interface name "lo" is the VM's loopback/ },
  {
    name: 'two interfaces of a VM with the same name',
    make: scenario('ifname-dup.xml', vm('<if id="1" net="Net0" name="wan"/><if id="2" net="Net0" name="wan"/>')),
    line: 5,
    column: IN_VM + 34,
    message: /interfaces 1 and 2 are both named "wan"/,
  },
  {
    name: 'a named interface taking the default name of another (eth2)',
    make: scenario('ifname-default.xml', vm('<if id="1" net="Net0" name="eth2"/><if id="2" net="Net0"/>')),
    line: 5,
    column: IN_VM + 35,
    message: /interfaces 1 and 2 are both named "eth2" .*an <if> without a name is eth<id>/,
  },
  {
    name: 'an interface name of 16 characters',
    make: scenario('ifname-long.xml', vm('<if id="1" net="Net0" name="abcdefghijklmnop"/>')),
    line: 5,
    column: IN_VM,
    message: /interface name "abcdefghijklmnop" is 16 characters long: Linux allows at most 15/,
  },
  {
    name: 'an interface name with shell metacharacters',
    make: scenario('ifname-shell.xml', vm('<if id="1" net="Net0" name="e$(reboot)"/>')),
    line: 5,
    column: IN_VM,
    message: /interface name "e\$\(reboot\)" is not a Linux interface name/,
  },
  {
    name: 'a management interface clash: eth0 with a private <vm_mgmt>',
    make: scenario('mgmt-eth0.xml', vm('<if id="0" net="Net0"/>').replace('</global>', '<vm_mgmt type="private" network="10.250.0.0" mask="24" offset="0"/></global>')),
    line: 5,
    column: IN_VM,
    message: /vm a: interface 0 is eth0, the name of its management interface/,
  },
  {
    name: 'a private <vm_mgmt> network that is not a network address',
    make: scenario('mgmt-network.xml', vm('<if id="1" net="Net0"/>').replace('</global>', '<vm_mgmt type="private" network="10.250.0.7" mask="24"/></global>')),
    line: 3,
    column: 67,
    message: /<vm_mgmt> network="10\.250\.0\.7" is not the network address of a \/24/,
  },
];

const hostCases: BadInputCase[] = [
  {
    name: 'a default route in the <host> section (it would cut the host off the cluster)',
    make: scenario('host-default.xml', vnx('  <host>\n    <hostif net="Net0"><ipv4>10.0.0.254/24</ipv4></hostif>\n    <route type="ipv4" gw="10.0.0.1">default</route>\n  </host>')),
    line: 7,
    column: 5,
    message: /the <host> section's default route \(via 10\.0\.0\.1\) is refused/,
  },
  {
    name: 'two host interfaces on one net',
    make: scenario('host-twice.xml', vnx('  <host>\n    <hostif net="Net0"/>\n    <hostif net="Net0"/>\n  </host>')),
    line: 7,
    column: 5,
    message: /<hostif net="Net0">: a second host interface on net Net0/,
  },
  {
    name: 'a host interface address with a zone id',
    make: scenario('host-zone.xml', vnx('  <host>\n    <hostif net="Net0"><ipv6>fe80::1%eth0/64</ipv6></hostif>\n  </host>')),
    line: 6,
    column: 24,
    message: /address "fe80::1%eth0" has a zone id/,
  },
];

const macCases: BadInputCase[] = [
  {
    name: 'a multicast MAC written with "-"',
    make: scenario('mac-multicast-dash.xml', vm('<if id="1" net="Net0"><mac>01-00-5E-00-00-01</mac></if>')),
    line: 5,
    column: IN_VM + 22,
    message: /MAC address 01:00:5e:00:00:01 is a multicast \(group\) address/,
  },
  { name: 'the broadcast MAC', make: scenario('mac-broadcast.xml', vm('<if id="1" net="Net0"><mac>ff:ff:ff:ff:ff:ff</mac></if>')), line: 5, column: IN_VM + 22, message: /is a multicast \(group\) address/ },
  { name: 'a MAC of mixed separators', make: scenario('mac-mixed.xml', vm('<if id="1" net="Net0"><mac>02:00-00:00:00:01</mac></if>')), line: 5, column: IN_VM + 22, message: /MAC address "02:00-00:00:00:01" is not of the form/ },
  {
    name: 'OVF: a multicast MAC in rasd:Address',
    make: scenario('ovf-mac.ovf', ovf(item(10, '<rasd:Connection>lan</rasd:Connection><rasd:Address>01:00:5e:00:00:01</rasd:Address>'))),
    line: 6,
    column: 92,
    message: /MAC address 01:00:5e:00:00:01 is a multicast \(group\) address/,
  },
];

const addressCases: BadInputCase[] = [
  {
    name: 'an IPv6 address with a zone id',
    make: scenario('zone-addr.xml', vm('<if id="1" net="Net0"><ipv6>fe80::1%eth0/64</ipv6></if>')),
    line: 5,
    column: IN_VM + 22,
    message: /address "fe80::1%eth0" has a zone id \(%eth0\)/,
  },
  {
    name: 'an IPv6 gateway with a zone id',
    make: scenario('zone-gw.xml', vm('<if id="1" net="Net0"/><route type="ipv6" gw="fe80::1%eth0">default</route>')),
    line: 5,
    column: IN_VM + 23,
    message: /route gateway "fe80::1%eth0" has a zone id/,
  },
  {
    name: 'VNUML: a route destination with a zone id',
    make: scenario('vnuml-zone-dest.xml', vnuml('  <vm name="a"><if id="1" net="Net0"/><route type="ipv6" gw="2001:db8::1">fe80::%eth1/64</route></vm>')),
    line: 5,
    column: 39,
    message: /route destination "fe80::%eth1" has a zone id/,
  },
  {
    name: 'a prefix length of /33',
    make: scenario('prefix33.xml', vm('<if id="1" net="Net0"><ipv4>10.0.0.1/33</ipv4></if>')),
    line: 5,
    column: IN_VM + 22,
    message: /prefix length \/33 is out of range 0-32/,
  },
  {
    name: 'a netmask with holes',
    make: scenario('mask-holes.xml', vm('<if id="1" net="Net0"><ipv4 mask="255.0.255.0">10.0.0.1</ipv4></if>')),
    line: 5,
    column: IN_VM + 22,
    message: /netmask 255\.0\.255\.0 is not contiguous/,
  },
  {
    name: 'a route to an address, not a network (host bits set)',
    make: scenario('route-hostbits.xml', vm('<if id="1" net="Net0"/><route type="ipv4" gw="10.0.0.1">10.1.2.3/24</route>')),
    line: 5,
    column: IN_VM + 23,
    message: /route destination 10\.1\.2\.3\/24 is not a network address: write 10\.1\.2\.0\/24/,
  },
  {
    name: 'VNUML: a route prefix with a leading zero (iproute2 reads /024 as octal 20)',
    make: scenario('vnuml-route-octal.xml', vnuml('  <vm name="a"><if id="1" net="Net0"/><route type="ipv4" gw="10.0.0.1">10.1.0.0/016</route></vm>')),
    line: 5,
    column: 39,
    message: /route destination "10\.1\.0\.0\/016" has an invalid prefix length \(a whole number 0-32, no leading zeros\)/,
  },
  {
    name: 'a route gateway that is not an address ($(reboot))',
    make: scenario('route-gw-shell.xml', vm('<if id="1" net="Net0"/><route type="ipv4" gw="$(reboot)">default</route>')),
    line: 5,
    column: IN_VM + 23,
    message: /vm a: route gateway "\$\(reboot\)" is not a valid IPv4 address/,
  },
];

const sizeCases: BadInputCase[] = [
  {
    name: '<mem> that parses to Infinity',
    make: scenario('mem-infinity.xml', vm(`<mem>${'9'.repeat(400)}G</mem>`)),
    line: 5,
    column: IN_VM,
    message: /vm a: memory is not a finite size/,
  },
  { name: '<mem> of 1000 TB', make: scenario('mem-absurd.xml', vm('<mem>1000T</mem>')), line: 5, column: IN_VM, message: /memory of 1000 TB is more than the 16 TB ediv accepts/ },
  { name: '<mem> of 512 (kilobytes, as VNX reads it)', make: scenario('mem-tiny.xml', vm('<mem>512</mem>')), line: 5, column: IN_VM, message: /memory 512 KB is less than 1 MB/ },
  {
    name: 'OVF: memory of 2^53 TB (VirtualQuantity × AllocationUnits)',
    make: scenario('ovf-mem.ovf', ovf(item(4, '<rasd:AllocationUnits>byte * 2^40</rasd:AllocationUnits><rasd:VirtualQuantity>9007199254740991</rasd:VirtualQuantity>'))),
    line: 6,
    column: 109,
    message: /memory of \d+ TB is more than the 16 TB ediv accepts/,
  },
  { name: 'a net MTU that is not a number', make: scenario('mtu.xml', vnx('').replace('mode="virtual_bridge"/>', 'mode="virtual_bridge" mtu="1500;reboot"/>')), line: 4, column: 3, message: /net Net0: mtu="1500;reboot" must be a whole number of bytes from 68 to 65535/ },
  { name: 'a net bandwidth that is not a rate', make: scenario('bw.xml', vnx('').replace('mode="virtual_bridge"/>', 'mode="virtual_bridge" bw="10 furlongs"/>')), line: 4, column: 3, message: /net Net0: bw "10 furlongs" is not a rate/ },
  { name: 'an interface delay of a year', make: scenario('delay.xml', vm('<if id="1" net="Net0" delay="31536000s"/>')), line: 5, column: IN_VM, message: /interface 1: delay "31536000s" is not a delay/ },
  { name: 'VNUML: a <bw> that is not a rate', make: scenario('vnuml-bw.xml', vnuml('').replace('<net name="Net0" mode="virtual_bridge"/>', '<net name="Net0" mode="virtual_bridge"><bw>fast</bw></net>')), line: 4, column: 42, message: /net Net0: bw "fast" is not a rate/ },
];

const pathCases: BadInputCase[] = [
  { name: 'a filetree root with a comma', make: scenario('root-comma.xml', vm('<filetree seq="s" root="/etc,upperdir=/">conf</filetree>')), line: 5, column: IN_VM, message: /filetree root "\/etc,upperdir=\/" may not contain ',' or white space/ },
  { name: 'a filetree root with a space', make: scenario('root-space.xml', vm('<filetree seq="s" root="/etc/my dir">conf</filetree>')), line: 5, column: IN_VM, message: /filetree root "\/etc\/my dir" may not contain ',' or white space/ },
  { name: 'a filetree root with a ".." step', make: scenario('root-dotdot.xml', vm('<filetree seq="s" root="/etc/../../root">conf</filetree>')), line: 5, column: IN_VM, message: /may not have a "\.\." step/ },
  { name: 'a relative filetree root', make: scenario('root-relative.xml', vm('<filetree seq="s" root="etc">conf</filetree>')), line: 5, column: IN_VM, message: /filetree root "etc" must be an absolute path/ },
  { name: 'an exec file name with a newline', make: scenario('exec-file.xml', vm('<exec seq="s" type="file">run.sh&#10;rm -rf /</exec>')), line: 5, column: IN_VM, message: /exec file "run\.sh\\nrm -rf \/" has a control character \(U\+000A\)/ },
  { name: 'filetree perms that are not a mode', make: scenario('perms.xml', vm('<filetree seq="s" root="/etc" perms="4755 /etc/shadow">conf</filetree>')), line: 5, column: IN_VM, message: /perms="4755 \/etc\/shadow" is not a file mode/ },
  { name: 'a filetree user that is not an account name', make: scenario('owner.xml', vm('<filetree seq="s" root="/etc" user="root:root /">conf</filetree>')), line: 5, column: IN_VM, message: /user="root:root \/" is not a user or group name/ },
];

const nameCases: BadInputCase[] = [
  {
    name: 'an exec sequence name with shell metacharacters',
    make: scenario('seq-shell.xml', vm('<exec seq="start;reboot" type="verbatim">true</exec>')),
    line: 5,
    column: IN_VM,
    message: /sequence name "start;reboot" is not allowed/,
  },
  {
    name: 'one bad name in a comma list of sequences',
    make: scenario('seq-list.xml', vm('<exec seq="start,-rf" type="verbatim">true</exec>')),
    line: 5,
    column: IN_VM,
    message: /sequence name "-rf" is not allowed/,
  },
  {
    name: 'a cmd-seq name with a space',
    make: scenario('cmdseq-name.xml', vm('<exec seq="s" type="verbatim">true</exec>').replace('</global>', '<cmd-seq seq="all of it">s</cmd-seq></global>')),
    line: 3,
    column: 67,
    message: /cmd-seq "all of it": sequence name "all of it" is not allowed/,
  },
  {
    name: 'a cmd-seq step with $( )',
    make: scenario('cmdseq-step.xml', vm('<exec seq="s" type="verbatim">true</exec>').replace('</global>', '<cmd-seq seq="all">s,$(id)</cmd-seq></global>')),
    line: 3,
    column: 67,
    message: /cmd-seq "all": sequence name "\$\(id\)" is not allowed/,
  },
  { name: 'an exec ostype with a space', make: scenario('ostype.xml', vm('<exec seq="s" type="verbatim" ostype="system; id">true</exec>')), line: 5, column: IN_VM, message: /ostype="system; id" is not allowed/ },
  { name: 'an exec type that is neither verbatim nor file', make: scenario('exec-type.xml', vm('<exec seq="s" type="shell">true</exec>')), line: 5, column: IN_VM, message: /<exec> needs type="verbatim" or type="file" \(found "shell"\)/ },
  { name: 'VNUML: a VM name with shell metacharacters', make: scenario('vnuml-vm-name.xml', vnuml('  <vm name="a`id`"><if id="1" net="Net0"/></vm>')), line: 5, column: 3, message: /VM name "a`id`" is not allowed/ },
  { name: 'a net name with a slash', make: scenario('net-name.xml', vnx('').replace('name="Net0"', 'name="../Net0"')), line: 4, column: 3, message: /net name "\.\.\/Net0" is not allowed/ },
  {
    name: 'a VM name with bidi controls is refused, and shown escaped',
    make: scenario('bidi-name.xml', vnx('  <vm type="lxc" name="a\u202Eb\u2066c"/>')),
    line: 5,
    column: 3,
    message: /VM name "a\\u202Eb\\u2066c" is not allowed/,
    notInMessage: [/[\u202A-\u202E\u2066-\u2069]/],
  },
];

badInputSuite('bad input: values and names (library and `ediv validate`)', [
  ...ifaceCases,
  ...hostCases,
  ...macCases,
  ...addressCases,
  ...sizeCases,
  ...pathCases,
  ...nameCases,
]);
