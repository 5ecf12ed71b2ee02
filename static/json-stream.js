// Splits the body of /api/watch into its JSON documents (docs/COMPATIBILITY.md §7: complete
// documents concatenated with no separator, each one an object). Pure: no DOM, no network.

// Feed it the stream's chunks (Uint8Array) as they come; it returns the documents they
// completed, as text. It tracks the nesting depth outside strings, and inside strings the
// backslash escapes, so a brace in a service name does not end a document. A document
// longer than `limit` characters is an error: the buffer stays bounded.
export class JsonSplitter {
  constructor(limit) {
    this.limit = limit;
    this.decoder = new TextDecoder();
    this.buffer = "";
    this.scanned = 0; // how much of `buffer` the state below describes
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
  }

  push(chunk) {
    this.buffer += this.decoder.decode(chunk, { stream: true });
    const documents = [];
    let start = 0;
    for (let i = this.scanned; i < this.buffer.length; i++) {
      if (this.step(this.buffer[i])) {
        documents.push(this.buffer.slice(start, i + 1).trim());
        start = i + 1;
      }
    }
    this.buffer = this.buffer.slice(start);
    this.scanned = this.buffer.length;
    if (this.buffer.length > this.limit) {
      throw new Error(`a watch document is over ${this.limit} characters`);
    }
    return documents;
  }

  // Advances over one character; true when it closed a top-level document.
  step(c) {
    if (this.inString) {
      if (this.escaped) this.escaped = false;
      else if (c === "\\") this.escaped = true;
      else if (c === '"') this.inString = false;
      return false;
    }
    if (c === '"') this.inString = true;
    else if (c === "{" || c === "[") this.depth++;
    else if (c === "}" || c === "]") {
      this.depth--;
      if (this.depth < 0) throw new Error("unbalanced JSON in the watch stream");
      return this.depth === 0;
    }
    return false;
  }
}
