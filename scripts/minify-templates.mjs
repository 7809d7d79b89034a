/**
 * Collapses the indentation inside Lit `html` and `css` tagged templates: each run of whitespace
 * that contains a line break becomes one space, or nothing next to a tag (no template of the
 * element uses <pre> or `white-space: pre`), and CSS loses its comments and the spaces it does
 * not need. Used by the drop-in build (vite.config.ts) and on the npm build's dist/lib/element
 * (npm run build).
 * Found with the TypeScript parser, so strings, comments and `${…}` expressions are never touched.
 *
 *   node scripts/minify-templates.mjs DIR   rewrites every .js file under DIR in place
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";

const TAGS = new Set(["html", "css"]);

/** `code` with the static parts of every html`…`/css`…` template collapsed. */
export function minifyTemplates(code, fileName = "x.ts") {
  const sf = ts.createSourceFile(fileName, code, ts.ScriptTarget.Latest, false);
  const edits = []; // [start, end) of a template part's raw text
  const visit = (node) => {
    if (ts.isTaggedTemplateExpression(node) && ts.isIdentifier(node.tag) && TAGS.has(node.tag.text)) {
      const t = node.template;
      const parts = ts.isNoSubstitutionTemplateLiteral(t) ? [t] : [t.head, ...t.templateSpans.map((s) => s.literal)];
      const isCss = node.tag.text === "css";
      for (const p of parts) {
        const start = p.getStart(sf) + 1; // after ` or }
        const end = p.end - (ts.isTemplateTail(p) || ts.isNoSubstitutionTemplateLiteral(p) ? 1 : 2); // before ` or ${
        edits.push([start, end, isCss]);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  if (edits.length === 0) return code;
  let out = "";
  let at = 0;
  for (const [s, e, isCss] of edits.sort((a, b) => a[0] - b[0])) {
    // A line break next to a tag is whitespace between elements (no box in the element's block,
    // flex and grid layouts): dropped. Elsewhere it becomes one space.
    let text = code.slice(s, e).replace(/(>?)\s*\n\s*(<?)/g, (_, a, b) => (a || b ? a + b : " "));
    // CSS: comments go (no css`` of the element has "/*" inside a string); no space is needed
    // around braces, semicolons and commas, nor after a property's colon; nor a rule's last
    // semicolon, nor the zero before a decimal point.
    if (isCss) {
      text = text
        .replace(/\/\*[\s\S]*?\*\//g, "")
        .replace(/\s*([{};,!])\s*/g, "$1")
        .replace(/([\w-]):\s+/g, "$1:")
        .replace(/;}/g, "}")
        .replace(/([\s:,(])0\.(\d)/g, "$1.$2");
    }
    out += code.slice(at, s) + text;
    at = e;
  }
  return out + code.slice(at);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith(".js")) writeFileSync(p, minifyTemplates(readFileSync(p, "utf8"), p));
    }
  };
  walk(process.argv[2]);
}
