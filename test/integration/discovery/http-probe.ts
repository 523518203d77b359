// HTTP probe for the tests (run inside a test namespace): http-probe.ts <method> <url> [json-headers] [body]
// prints {"status":…, "headers":…, "body":…}.
import http from 'node:http';

const [method, url, headers, body] = process.argv.slice(2);
const req = http.request(url!, { method, headers: headers ? (JSON.parse(headers) as Record<string, string>) : {} }, (res) => {
  let text = '';
  res.on('data', (d) => (text += d));
  res.on('end', () => process.stdout.write(JSON.stringify({ status: res.statusCode, headers: res.headers, body: text }) + '\n'));
});
req.on('error', (e) => {
  process.stdout.write(JSON.stringify({ error: e.message }) + '\n');
});
req.end(body);
