// The TypeScript 6 compiler API (the one TypeDoc uses), for scripts/api-report.ts.
module.exports = require('typescript');
