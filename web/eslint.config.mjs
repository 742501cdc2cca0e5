// Lint of the investigator page's own scripts (service/static/app.js and js/): `npm run lint` in web/.
import js from '@eslint/js';
import globals from 'globals';

export default [
  js.configs.recommended,
  {
    files: ['service/static/**/*.js'],
    ignores: ['service/static/vendor/**'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: { ...globals.browser, cytoscape: 'readonly' },
    },
    rules: {
      'no-unused-vars': ['error', { args: 'none' }],
    },
  },
];
