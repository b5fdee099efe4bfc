// Property tests (fast-check) run with random seeds locally, where finding new counterexamples is the
// point, and with a fixed seed in CI (or whatever FC_SEED says), so that a red run is reproducible and
// never a dice roll. A failure prints its seed and counterexample either way.
import fc from 'fast-check';

const seed = process.env.FC_SEED ?? (process.env.CI ? '20261124' : undefined);
if (seed !== undefined) fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: Number(seed) });
