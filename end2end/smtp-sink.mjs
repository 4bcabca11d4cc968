// A mail server for the browser suite: accepts every message over SMTP (the shop's real mailer
// delivers to it, as it would to any SMTP server) and lists what arrived over HTTP, so a test
// reads a sign-in code the way a shopper would: from the email.
//
//   node smtp-sink.mjs <smtp port> <http port>
//   GET /messages?to=ada@example.test  →  [{ "to": [...], "subject": "...", "body": "...", "headers": ["Name: value", ...] }]
//
// It stops when the process that started it (the shop server, via `exec`) is gone.
import net from "node:net";
import http from "node:http";

const [smtpPort, httpPort] = process.argv.slice(2).map(Number);
const messages = [];

/** Decodes an RFC 2047 encoded-word subject ("=?utf-8?b?…?=") as lettre writes non-ASCII. */
function decodeHeader(value) {
  return value.replace(/=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_, kind, text) =>
    kind.toLowerCase() === "b"
      ? Buffer.from(text, "base64").toString("utf8")
      : text.replace(/_/g, " ").replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16))),
  );
}

function parse(data, recipients) {
  const [head, ...rest] = data.split("\r\n\r\n");
  const headers = head.replace(/\r\n[ \t]+/g, " ").split("\r\n");
  const subject = headers.find((h) => /^subject:/i.test(h))?.replace(/^subject:\s*/i, "") ?? "";
  let body = rest.join("\r\n\r\n");
  if (headers.some((h) => /^content-transfer-encoding:\s*base64/i.test(h))) {
    body = Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  } else if (headers.some((h) => /^content-transfer-encoding:\s*quoted-printable/i.test(h))) {
    // Quoted-printable escapes bytes: read them as bytes, then the bytes as UTF-8.
    const bytes = body.replace(/=\r\n/g, "").replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)));
    body = Buffer.from(bytes, "latin1").toString("utf8");
  }
  return { to: recipients, subject: decodeHeader(subject), body, headers };
}

net
  .createServer((socket) => {
    let buffer = "";
    let inData = false;
    let data = "";
    let recipients = [];
    socket.write("220 e2e ESMTP\r\n");
    socket.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      let at;
      while ((at = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        if (inData) {
          if (line === ".") {
            inData = false;
            messages.push(parse(data, recipients));
            data = "";
            recipients = [];
            socket.write("250 queued\r\n");
          } else {
            data += (line.startsWith("..") ? line.slice(1) : line) + "\r\n";
          }
        } else if (/^(EHLO|HELO)/i.test(line)) {
          socket.write("250 e2e\r\n");
        } else if (/^RCPT TO:/i.test(line)) {
          recipients.push(line.replace(/^RCPT TO:\s*<?([^>]*)>?.*$/i, "$1").toLowerCase());
          socket.write("250 ok\r\n");
        } else if (/^DATA/i.test(line)) {
          inData = true;
          socket.write("354 go on\r\n");
        } else if (/^QUIT/i.test(line)) {
          socket.end("221 bye\r\n");
        } else {
          socket.write("250 ok\r\n");
        }
      }
    });
    socket.on("error", () => {});
  })
  .listen(smtpPort, "127.0.0.1");

http
  .createServer((request, response) => {
    const url = new URL(request.url, "http://localhost");
    const to = url.searchParams.get("to")?.toLowerCase();
    const found = messages.filter((m) => !to || m.to.includes(to));
    response.setHeader("content-type", "application/json");
    response.end(JSON.stringify(found));
  })
  .listen(httpPort, "127.0.0.1");

const parent = process.ppid;
setInterval(() => {
  try {
    process.kill(parent, 0);
  } catch {
    process.exit(0);
  }
}, 1000);
