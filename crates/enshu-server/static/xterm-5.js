// window.EnshuXterm over xterm.js 5.x (Debian 13's node-xterm 5.3: one UMD
// bundle, lib/xterm.js, and the fit and canvas addons as classes loaded
// into a terminal). The canvas renderer, not 5.x's default DOM renderer:
// the DOM renderer colours and sizes the text through <style> elements it
// adds, which the portal's CSP (no inline style) refuses, leaving the text
// in the page's dark grey on the terminal's black.
(function () {
  var FitAddon = load("xterm-addon-fit.js").FitAddon;
  var CanvasAddon = load("xterm-addon-canvas.js").CanvasAddon;
  window.EnshuXterm = {
    version: 5,
    Terminal: load("xterm.js").Terminal,
    open: function (term, element) {
      // Loaded before open: it takes the renderer as the terminal opens,
      // so the DOM renderer is never made.
      term.loadAddon(new CanvasAddon());
      term.open(element);
    },
    fit: function (term) {
      if (!term.enshuFit) {
        term.enshuFit = new FitAddon();
        term.loadAddon(term.enshuFit);
      }
      term.enshuFit.fit();
    },
    onData: function (term, listener) { term.onData(listener); },
    onResize: function (term, listener) { term.onResize(listener); },
    lines: function (term) {
      var buffer = term.buffer.active;
      var lines = [];
      for (var index = 0; index < buffer.length; index++) {
        var line = buffer.getLine(index);
        lines.push(line ? line.translateToString(true) : "");
      }
      return lines;
    },
  };
})();
