};
// The end of Enshu's xterm.js bundle (terminal/assets.rs): a CommonJS
// `require` over the modules above, each run once, on first use. What
// follows (xterm-3.js or xterm-5.js, by the package's version) gives the
// portal `window.EnshuXterm`, one API over both.
var loaded = {};
function resolve(from, request) {
  var parts = from.split("/");
  parts.pop();
  request.split("/").forEach(function (part) {
    if (part === "..") {
      parts.pop();
    } else if (part !== ".") {
      parts.push(part);
    }
  });
  var path = parts.join("/");
  return /\.js$/.test(path) ? path : path + ".js";
}
function load(path) {
  if (loaded[path]) {
    return loaded[path].exports;
  }
  var definition = definitions[path];
  if (!definition) {
    throw new Error("xterm.js bundle: no module " + path);
  }
  var module = { exports: {} };
  loaded[path] = module;
  definition(function (request) { return load(resolve(path, request)); }, module, module.exports);
  return module.exports;
}
