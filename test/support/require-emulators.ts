// Emulator tests must run against the emulators, never be skipped: fail loudly when they are absent.
for (const name of ['FIRESTORE_EMULATOR_HOST', 'PUBSUB_EMULATOR_HOST', 'SECRET_MANAGER_EMULATOR_HOST']) {
  if (!process.env[name]) {
    throw new Error(
      `${name} is not set: emulator tests run under 'npm test' (emulators/launcher.mjs), which starts the emulators`,
    );
  }
}
