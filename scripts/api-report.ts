// `npm run api-report`: writes api/reliable-messaging-serverless.api.md, every name each entry point of the package
// exports (package.json `exports`) with its kind and signature. test/unit/project/api-report.test.ts fails when the
// committed report differs from the sources, so every change of the public surface is a deliberate one, seen in
// review.
//
// It uses the TypeScript 6 compiler API of tools/api-tools (TypeScript 7, the project's compiler, has no stable
// JavaScript API).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type TypeScript from 'reliable-messaging-api-tools/typescript';

const ts = createRequire(import.meta.url)('reliable-messaging-api-tools/typescript') as typeof TypeScript;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPORT_PATH = path.join(ROOT, 'api', 'reliable-messaging-serverless.api.md');

/** One entry point of the package: the name a user imports, and the source file it resolves to. */
export interface EntryPoint {
  readonly specifier: string;
  readonly source: string;
}

/**
 * The package's entry points, as package.json `exports` lists them (`./package.json` aside), each resolved to its
 * TypeScript source by tsconfig.json `paths`.
 */
export function packageEntryPoints(root: string = ROOT): EntryPoint[] {
  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    name: string;
    exports: Record<string, unknown>;
  };
  const { config } = ts.readConfigFile(path.join(root, 'tsconfig.json'), ts.sys.readFile) as {
    config: { compilerOptions: { paths: Record<string, string[]> } };
  };
  return Object.keys(manifest.exports)
    .filter((subpath) => subpath !== './package.json')
    .map((subpath) => {
      const specifier = subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`;
      const [source] = config.compilerOptions.paths[specifier] ?? [];
      if (source === undefined) throw new Error(`tsconfig.json has no path for ${specifier}`);
      return { specifier, source: path.resolve(root, source) };
    });
}

/** The project's compiler options (tsconfig.json), which resolve the package's name to its sources. */
export function projectCompilerOptions(root: string = ROOT): TypeScript.CompilerOptions {
  const configPath = path.join(root, 'tsconfig.json');
  const { config } = ts.readConfigFile(configPath, ts.sys.readFile);
  return ts.parseJsonConfigFileContent(config, ts.sys, root, undefined, configPath).options;
}

const byName = (a: string, b: string): number => {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  if (x !== y) return x < y ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
};

const TYPE_FORMAT =
  ts.TypeFormatFlags.NoTruncation |
  ts.TypeFormatFlags.UseSingleQuotesForStringLiteralType |
  ts.TypeFormatFlags.WriteArrowStyleSignature;

/** Removes the absolute paths `typeToString` writes for a type it cannot name from where it stands. */
const withoutImportPaths = (text: string): string => text.replace(/import\("[^"]*"\)\./g, '');

function renderer(checker: TypeScript.TypeChecker) {
  const printer = ts.createPrinter({ removeComments: true, newLine: ts.NewLineKind.LineFeed });
  const print = (node: TypeScript.Node): string =>
    withoutImportPaths(printer.printNode(ts.EmitHint.Unspecified, node, node.getSourceFile()));
  const typeText = (type: TypeScript.Type, at: TypeScript.Node): string =>
    withoutImportPaths(checker.typeToString(type, at, TYPE_FORMAT));
  const signatureText = (signature: TypeScript.Signature, at: TypeScript.Node): string =>
    withoutImportPaths(
      checker.signatureToString(signature, at, TYPE_FORMAT & ~ts.TypeFormatFlags.WriteArrowStyleSignature),
    );
  /** A printed declaration without its `export`, indented by two spaces a level (the printer's are four). */
  const declarationText = (text: string): string =>
    text
      .replace(/^export (declare )?(default )?/, '')
      .replace(/^((?: {4})+)/gm, (indent) => ' '.repeat(indent.length / 2));
  const modifiers = (node: TypeScript.Node): TypeScript.ModifierFlags =>
    ts.getCombinedModifierFlags(node as TypeScript.Declaration);

  function classMember(
    member: TypeScript.ClassElement,
    siblings: readonly TypeScript.ClassElement[],
  ): string | undefined {
    const flags = modifiers(member);
    if (flags & ts.ModifierFlags.Private) return undefined;
    if (member.name !== undefined && ts.isPrivateIdentifier(member.name)) return undefined;
    if (ts.isClassStaticBlockDeclaration(member) || ts.isSemicolonClassElement(member)) return undefined;
    const prefix = [
      flags & ts.ModifierFlags.Protected ? 'protected ' : '',
      flags & ts.ModifierFlags.Static ? 'static ' : '',
      flags & ts.ModifierFlags.Abstract ? 'abstract ' : '',
      flags & ts.ModifierFlags.Readonly ? 'readonly ' : '',
    ].join('');
    const name = member.name === undefined ? '' : member.name.getText();
    if (ts.isConstructorDeclaration(member)) {
      if (member.body !== undefined && siblings.some((m) => ts.isConstructorDeclaration(m) && !m.body))
        return undefined; // the implementation of overloads
      const signature = checker.getSignatureFromDeclaration(member);
      if (signature === undefined) return undefined;
      const text = signatureText(signature, member);
      return `${prefix}constructor${text.slice(0, text.lastIndexOf(':')).trimEnd()};`;
    }
    if (ts.isMethodDeclaration(member)) {
      if (
        member.body !== undefined &&
        siblings.some(
          (m) => m !== member && ts.isMethodDeclaration(m) && m.name.getText() === name && !m.body,
        )
      )
        return undefined;
      const signature = checker.getSignatureFromDeclaration(member);
      if (signature === undefined) return undefined;
      return `${prefix}${name}${member.questionToken ? '?' : ''}${signatureText(signature, member)};`;
    }
    if (ts.isGetAccessorDeclaration(member)) {
      const signature = checker.getSignatureFromDeclaration(member);
      return `${prefix}get ${name}(): ${signature ? typeText(checker.getReturnTypeOfSignature(signature), member) : 'unknown'};`;
    }
    if (ts.isSetAccessorDeclaration(member)) {
      const [parameter] = member.parameters;
      return `${prefix}set ${name}(${parameter ? print(parameter) : ''});`;
    }
    if (ts.isPropertyDeclaration(member)) {
      const type = member.type ? print(member.type) : typeText(checker.getTypeAtLocation(member), member);
      return `${prefix}${name}${member.questionToken ? '?' : ''}: ${type};`;
    }
    if (ts.isIndexSignatureDeclaration(member)) return `${prefix}${print(member)}`;
    return undefined;
  }

  function classDeclaration(declaration: TypeScript.ClassDeclaration, name: string): string {
    const abstract = modifiers(declaration) & ts.ModifierFlags.Abstract ? 'abstract ' : '';
    const typeParameters = declaration.typeParameters?.length
      ? `<${declaration.typeParameters.map(print).join(', ')}>`
      : '';
    const heritage = (declaration.heritageClauses ?? []).map((clause) => ` ${print(clause).trim()}`).join('');
    const members = declaration.members.flatMap((member) => classMember(member, declaration.members) ?? []);
    const parameterProperties = declaration.members
      .filter(ts.isConstructorDeclaration)
      .flatMap((ctor) => ctor.parameters)
      .filter((parameter) => ts.isParameterPropertyDeclaration(parameter, parameter.parent))
      .filter((parameter) => !(modifiers(parameter) & ts.ModifierFlags.Private))
      .map((parameter) => {
        const flags = modifiers(parameter);
        const readonly = flags & ts.ModifierFlags.Readonly ? 'readonly ' : '';
        const type = parameter.type
          ? print(parameter.type)
          : typeText(checker.getTypeAtLocation(parameter), parameter);
        return `${flags & ts.ModifierFlags.Protected ? 'protected ' : ''}${readonly}${parameter.name.getText()}: ${type};`;
      });
    const body = [...parameterProperties, ...members].map((line) => `  ${line}`).join('\n');
    return `${abstract}class ${name}${typeParameters}${heritage} {\n${body}\n}`;
  }

  /** The lines of one exported name: each of its declarations (a value and a type may share a name). */
  return function render(exported: TypeScript.Symbol): string {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const name = exported.getName();
    const lines: string[] = [];
    const seen = new Set<string>();
    for (const declaration of symbol.getDeclarations() ?? []) {
      let text: string | undefined;
      if (ts.isClassDeclaration(declaration)) text = classDeclaration(declaration, name);
      else if (ts.isFunctionDeclaration(declaration)) {
        const type = checker.getTypeOfSymbolAtLocation(symbol, declaration);
        text = checker
          .getSignaturesOfType(type, ts.SignatureKind.Call)
          .map((signature) => `function ${name}${signatureText(signature, declaration)};`)
          .join('\n');
      } else if (ts.isVariableDeclaration(declaration)) {
        const list = declaration.parent;
        const keyword = list.flags & ts.NodeFlags.Const ? 'const' : 'let';
        text = `${keyword} ${name}: ${typeText(checker.getTypeOfSymbolAtLocation(symbol, declaration), declaration)};`;
      } else if (
        ts.isInterfaceDeclaration(declaration) ||
        ts.isTypeAliasDeclaration(declaration) ||
        ts.isEnumDeclaration(declaration) ||
        ts.isModuleDeclaration(declaration)
      ) {
        text = declarationText(print(declaration));
        if (declaration.name.getText() !== name) text = `// exported as ${name}\n${text}`;
      }
      if (text === undefined || seen.has(text)) continue;
      seen.add(text);
      const deprecated = ts.getJSDocTags(declaration).some((tag) => tag.tagName.text === 'deprecated');
      lines.push(deprecated ? `/** @deprecated */\n${text}` : text);
    }
    return lines.join('\n');
  };
}

/**
 * The report: for each entry point, one fenced block with every name it exports, sorted, each with its kind and
 * signature (classes with their public members, functions with their signatures, interfaces and types as declared).
 */
export function apiReport(
  entryPoints: readonly EntryPoint[],
  options: TypeScript.CompilerOptions = projectCompilerOptions(),
  root: string = ROOT,
): string {
  const program = ts.createProgram({
    rootNames: entryPoints.map((entry) => entry.source),
    options: { ...options, noEmit: true },
  });
  const checker = program.getTypeChecker();
  const render = renderer(checker);
  const sections = entryPoints.map((entry) => {
    const sourceFile = program.getSourceFile(entry.source);
    if (sourceFile === undefined) throw new Error(`${entry.source} is not in the program`);
    const module = checker.getSymbolAtLocation(sourceFile);
    const exported = module === undefined ? [] : checker.getExportsOfModule(module);
    const names = [...exported].sort((a, b) => byName(a.getName(), b.getName()));
    const source = path.relative(root, entry.source).split(path.sep).join('/');
    return [
      `## \`${entry.specifier}\``,
      '',
      `${names.length} names, from \`${source}\`.`,
      '',
      '```ts',
      names.map(render).join('\n\n'),
      '```',
      '',
    ].join('\n');
  });
  return [
    '# API report of `reliable-messaging-serverless`',
    '',
    'Generated by `npm run api-report` (scripts/api-report.ts) from the entry points of package.json `exports`:',
    'every exported name with its kind and signature. Do not edit: a unit test fails when this file differs from the',
    'sources, so that every change of the public surface is deliberate.',
    '',
    ...sections,
  ].join('\n');
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(REPORT_PATH, apiReport(packageEntryPoints()));
  console.log(`wrote ${path.relative(process.cwd(), REPORT_PATH)}`);
}
