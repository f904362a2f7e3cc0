// Typeset the formulas that pymdownx.arithmatex (generic mode) leaves as \( … \) and \[ … \] inside
// .arithmatex elements; nothing else on the page is touched (a "$" in prose or code stays as it is).
// KaTeX is vendored beside this file (javascripts/katex/, MIT licence), so pages render without network.
function renderFormulas(root) {
  root.querySelectorAll(".arithmatex").forEach((element) => {
    renderMathInElement(element, {
      delimiters: [
        { left: "\\(", right: "\\)", display: false },
        { left: "\\[", right: "\\]", display: true },
      ],
      throwOnError: false,
    });
  });
}

// Material's instant navigation publishes every new page on document$; without it, render once on load.
if (typeof document$ !== "undefined") {
  document$.subscribe(({ body }) => renderFormulas(body));
} else {
  document.addEventListener("DOMContentLoaded", () => renderFormulas(document.body));
}
