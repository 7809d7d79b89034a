/**
 * Which property names the minified bundles may shorten (esbuild `mangleProps`), derived from the
 * source on every build so that renaming or adding members never needs a hand-kept list.
 *
 * Candidates: members declared by classes, interfaces and type literals in src/client/ and
 * src/element/internal/ (the parts' method and property names, which minifiers otherwise keep).
 * Reserved (never mangled), each because the name crosses a boundary the bundle cannot see:
 *   - public API: the entry points' export names (properties of the IIFE's global), every
 *     property of every type reachable from their exports
 *     (src/client/index.ts, src/element/index.ts, src/protocol/index.ts), and every member
 *     declared in src/client/types.ts, src/protocol/ and src/element/*.ts (the element class,
 *     its events and messages); `private` members of exported classes stay candidates;
 *   - wire/JSON keys (src/protocol/), DOM and JS API names (all member names in TypeScript's
 *     lib.*.d.ts), Lit's API (member names in the .d.ts of lit, lit-html, lit-element and
 *     @lit/reactive-element: render, updated, hostConnected, ...);
 *   - names a decorator registers (Lit's `createProperty(name)` gets the name as a string);
 *   - names used as strings anywhere in the bundled source (`"x" in o`, o["x"], literal types
 *     such as `"code" | "name"` used as keys, template text such as `.prop=${}`), and members
 *     of any type that appears under `keyof` (its keys are used as strings).
 * The result is sorted, so the same source gives the same regex and the same bundle.
 *
 * CLI: `node scripts/mangle-names.mjs` prints the candidates, reserved count and regex.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const ts = require("typescript");

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Folders whose declared members may be mangled. */
const CANDIDATE_DIRS = ["src/client/", "src/element/internal/"];
/** Files and folders whose declared members are public API or wire shapes: all reserved. */
const PUBLIC_FILES = [/^src\/client\/types\.ts$/, /^src\/protocol\//, /^src\/element\/[^/]+\.ts$/];
/** The bundles' entry points: everything their exports reach is public API. */
const ENTRIES = ["src/client/index.ts", "src/element/index.ts", "src/protocol/index.ts"];
/** Packages bundled into the drop-ins whose declared member names are their API. */
const LIT_PACKAGES = ["lit", "lit-html", "lit-element", "@lit/reactive-element"];
/** Runtime names that no .d.ts declares as members but that JS engines look up by name. */
const ALWAYS_RESERVED = [
  "constructor",
  "prototype",
  "__proto__",
  "then",
  "toJSON",
  "toString",
  "valueOf",
  "handleEvent",
  "default",
];

const IDENT = /^[A-Za-z_$][\w$]*$/;

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** The name of a declaration when it is a plain identifier or string key (not #private, not computed). */
function memberName(node) {
  const n = node.name;
  if (!n) return undefined;
  if (ts.isIdentifier(n) || ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) return n.text;
  return undefined; // #private, computed, numeric: left to the minifier's own rules
}

const isMember = (node) =>
  ts.isPropertyDeclaration(node) ||
  ts.isMethodDeclaration(node) ||
  ts.isGetAccessorDeclaration(node) ||
  ts.isSetAccessorDeclaration(node) ||
  ts.isPropertySignature(node) ||
  ts.isMethodSignature(node);

/** Every member-like name declared in a .d.ts (lib and Lit): properties, methods, accessors, enum-ish keys. */
function declaredNames(sf, into) {
  const visit = (node) => {
    if (
      isMember(node) ||
      ts.isPropertyAssignment(node) ||
      ts.isShorthandPropertyAssignment(node) ||
      ts.isEnumMember(node)
    ) {
      const name = memberName(node);
      if (name) into.add(name);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}

/** Names a source file uses as strings: in strings, templates and literal types. */
function stringWords(sf, into) {
  const add = (text) => {
    for (const w of text.match(/[A-Za-z_$][\w$]*/g) ?? []) into.add(w);
  };
  const visit = (node) => {
    // Module specifiers ("./timers.ts") name files, not properties.
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) return;
    // A plain string is a possible key only when it is one name or a dotted path ("a.b");
    // sentences ("session expired") are not. Template text is taken whole (html`.prop=${}`).
    if (ts.isStringLiteral(node)) {
      if (/^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/.test(node.text)) add(node.text);
    } else if (ts.isNoSubstitutionTemplateLiteral(node)) add(node.text);
    else if (ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) add(node.text);
    ts.forEachChild(node, visit);
  };
  visit(sf);
}

/**
 * @param {string} [root] the project root
 * @returns {{ names: string[], reserved: Set<string>, regex: RegExp, cache: Record<string, string> }}
 *   `names` the sorted names to mangle; `regex` for esbuild's `mangleProps`; `cache` for its
 *   `mangleCache`: every short reserved name mapped to itself, so no mangled name can land on a
 *   DOM or Lit property (e.g. `id`, `x`) of an object it is stored on.
 */
export function mangleNames(root = ROOT) {
  const rel = (f) => relative(root, f).split(sep).join("/");
  const srcFiles = walk(join(root, "src")).filter((f) => /\.ts$/.test(f) && !/\.d\.ts$/.test(f));
  const program = ts.createProgram(srcFiles, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    experimentalDecorators: true,
    noEmit: true,
    strict: true,
    skipLibCheck: true,
    lib: ["lib.es2022.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
  });
  const checker = program.getTypeChecker();
  const reserved = new Set(ALWAYS_RESERVED);
  const candidates = new Set();

  // DOM and JS: every lib file TypeScript ships (a superset of what the bundle can touch).
  const libDir = dirname(require.resolve("typescript/lib/lib.d.ts"));
  for (const f of readdirSync(libDir).filter((n) => /^lib\..*\.d\.ts$/.test(n))) {
    declaredNames(
      ts.createSourceFile(f, readFileSync(join(libDir, f), "utf8"), ts.ScriptTarget.Latest, false),
      reserved,
    );
  }
  // Lit's API (lifecycle, controllers, directives, PropertyDeclaration options...).
  for (const pkg of LIT_PACKAGES) {
    // Their exports maps hide package.json, so the folder is found by name (all are hoisted).
    const dir = join(root, "node_modules", pkg);
    if (!existsSync(dir)) throw new Error(`mangle-names: ${pkg} is not installed; its API names must be reserved`);
    for (const f of walk(dir).filter((n) => n.endsWith(".d.ts"))) {
      declaredNames(ts.createSourceFile(f, readFileSync(f, "utf8"), ts.ScriptTarget.Latest, false), reserved);
    }
  }

  // Public API: every property of every type the entry points export, followed through
  // property types, call signatures (parameters, returns), type arguments, unions and bases.
  const seen = new Set();
  const reserveType = (type, depth) => {
    if (!type || seen.has(type) || depth > 12) return;
    seen.add(type);
    // Types declared only in .d.ts files (DOM, JS, Lit) have their member names reserved above.
    const own = type.aliasSymbol ?? type.getSymbol();
    if (own?.declarations?.length && own.declarations.every((d) => d.getSourceFile().isDeclarationFile)) return;
    if (type.isUnionOrIntersection()) for (const t of type.types) reserveType(t, depth + 1);
    for (const t of checker.getTypeArguments?.(type) ?? []) reserveType(t, depth + 1);
    if (type.aliasTypeArguments) for (const t of type.aliasTypeArguments) reserveType(t, depth + 1);
    for (const prop of checker.getPropertiesOfType(type)) {
      const decls = prop.declarations ?? [];
      const isPrivate = decls.some((d) => ts.getCombinedModifierFlags(d) & ts.ModifierFlags.Private);
      if (isPrivate || prop.name.startsWith("#") || prop.name.startsWith("__@")) continue;
      reserved.add(prop.name);
      const decl = decls[0];
      if (decl) reserveType(checker.getTypeOfSymbolAtLocation(prop, decl), depth + 1);
    }
    for (const kind of [ts.SignatureKind.Call, ts.SignatureKind.Construct]) {
      for (const sig of checker.getSignaturesOfType(type, kind)) {
        for (const p of sig.getParameters()) {
          const d = p.valueDeclaration ?? p.declarations?.[0];
          if (d) reserveType(checker.getTypeOfSymbolAtLocation(p, d), depth + 1);
        }
        reserveType(sig.getReturnType(), depth + 1);
      }
    }
    const sym = type.getSymbol();
    if (sym && sym.flags & ts.SymbolFlags.Class) {
      for (const base of checker.getBaseTypes(type) ?? []) reserveType(base, depth + 1);
    }
  };
  for (const entry of ENTRIES) {
    const sf = program.getSourceFile(join(root, entry));
    const modSym = sf && checker.getSymbolAtLocation(sf);
    if (!modSym) throw new Error(`mangle-names: cannot read the exports of ${entry}`);
    for (let exp of checker.getExportsOfModule(modSym)) {
      // The classic-script build sets exports as properties of its global (RegistryPeer.x).
      reserved.add(exp.name);
      if (exp.flags & ts.SymbolFlags.Alias) exp = checker.getAliasedSymbol(exp);
      const decl = exp.valueDeclaration ?? exp.declarations?.[0];
      if (!decl) continue;
      if (exp.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias)) {
        reserveType(checker.getDeclaredTypeOfSymbol(exp), 0);
      }
      if (exp.flags & ts.SymbolFlags.Value) reserveType(checker.getTypeOfSymbolAtLocation(exp, decl), 0);
    }
  }

  for (const sf of program.getSourceFiles()) {
    if (sf.isDeclarationFile) continue;
    const file = rel(sf.fileName);
    if (!file.startsWith("src/")) continue;
    const candidate = CANDIDATE_DIRS.some((d) => file.startsWith(d)) && !PUBLIC_FILES.some((re) => re.test(file));
    const isPublic = PUBLIC_FILES.some((re) => re.test(file));
    stringWords(sf, reserved);
    const visit = (node) => {
      if (isMember(node)) {
        const name = memberName(node);
        if (name) {
          const decorated = ts.canHaveDecorators(node) && (ts.getDecorators(node)?.length ?? 0) > 0;
          const flags = ts.getCombinedModifierFlags(node);
          if (decorated) reserved.add(name);
          else if (isPublic && !(flags & ts.ModifierFlags.Private)) reserved.add(name);
          else if (candidate || (isPublic && flags & ts.ModifierFlags.Private)) candidates.add(name);
        }
      }
      // `keyof T` / mapped types over T: T's keys are used as strings.
      if (ts.isTypeOperatorNode(node) && node.operator === ts.SyntaxKind.KeyOfKeyword) {
        const t = checker.getTypeFromTypeNode(node.type);
        for (const p of checker.getPropertiesOfType(t)) reserved.add(p.name);
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }

  if (process.env.MANGLE_DEBUG)
    console.error(
      [...candidates]
        .filter((n) => reserved.has(n))
        .sort()
        .join(" "),
    );
  const names = [...candidates].filter((n) => IDENT.test(n) && !reserved.has(n)).sort();
  const esc = (s) => s.replace(/\$/g, "\\$");
  const regex = new RegExp(names.length ? `^(?:${names.map(esc).join("|")})$` : "^(?!)$");
  const cache = {};
  // Mangled names are short; reserving the short real names as targets is enough.
  for (const n of [...reserved].filter((n) => IDENT.test(n) && n.length <= 4).sort()) cache[n] = n;
  return { names, reserved, regex, cache };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { names, reserved, regex } = mangleNames();
  console.log(`${names.length} names to mangle (${reserved.size} reserved):\n${names.join(" ")}\n\n${regex.source}`);
}
