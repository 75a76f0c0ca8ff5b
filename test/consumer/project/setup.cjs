globalThis.setupRan = true;
