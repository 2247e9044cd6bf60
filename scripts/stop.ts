import { stopEmulator } from './local/emulator';

/** `npm run stop`: stops the MiniStack that `npm start` (or a test run) started, by its recorded PID. */
stopEmulator()
  .then((stopped) =>
    console.log(stopped ? 'Emulator stopped.' : 'No emulator started by this project is running.'),
  )
  .catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
