// window.EnshuXterm over xterm.js 3.x (Debian 12's node-xterm 3.8: CommonJS
// modules under lib/, the fit addon applied to a terminal).
(function () {
  var fit = load("addons/fit/fit.js");
  window.EnshuXterm = {
    version: 3,
    Terminal: load("public/Terminal.js").Terminal,
    open: function (term, element) { term.open(element); },
    fit: function (term) { fit.fit(term); },
    onData: function (term, listener) { term.on("data", listener); },
    onResize: function (term, listener) { term.on("resize", listener); },
    lines: function (term) {
      var buffer = term._core.buffer;
      var lines = [];
      for (var index = 0; index < buffer.lines.length; index++) {
        lines.push(buffer.translateBufferLineToString(index, true));
      }
      return lines;
    },
  };
})();
