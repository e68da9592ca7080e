// multipart.js: cuts the growing responseText of one xhr-streaming response
// into packets (protocol-spec/07-xhr-streaming.md). Body: preamble, "\r\n--B",
// then per part "\r\n<headers>\r\n\r\n<packet>\r\n--B", and "--\r\n" after the
// last delimiter. feed() takes the whole text so far and returns the encoded
// packets completed since the last call; `done` turns true at the closing
// delimiter.

// The boundary of an xhr-streaming response, from its Content-Type.
export function boundaryOf(contentType) {
  var m = /boundary="?([^";\s]+)/i.exec(contentType || '');
  return m ? m[1] : null;
}

export function Multipart(boundary) {
  this.d = '\r\n--' + boundary;
  this.pos = -1; // index just after the last delimiter seen
  this.from = 0; // where the search for the next delimiter may start
  this.done = false;
}
var M = Multipart.prototype;

M.feed = function (text) {
  var d = this.d, out = [], i, part, h;
  while (!this.done) {
    i = text.indexOf(d, this.from);
    if (this.pos >= 0 && text.substr(this.pos, 2) === '--') {
      this.done = true;
      break;
    }
    if (i < 0) {
      this.from = Math.max(this.from, text.length - d.length);
      break;
    }
    if (this.pos >= 0) {
      part = text.substring(this.pos, i);
      h = part.indexOf('\r\n\r\n');
      if (h < 0) throw new Error('bad multipart part');
      out.push(part.slice(h + 4));
    }
    this.pos = this.from = i + d.length;
  }
  return out;
};
