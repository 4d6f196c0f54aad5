// tooling.test.mjs — lets `node --test tests/e2e/` find test_tooling.mjs (Node 20's default test
// file patterns do not match test_*.mjs).
import './test_tooling.mjs';
