/** Runs a short command and returns its output (for version strings and checks). */
import { execFile } from "node:child_process";

export function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, [...args], { ...options, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(" ")} failed: ${error.message}\n${stdout}${stderr}`));
      else resolve(`${stdout}${stderr}`);
    });
  });
}

/** Like run(), but null instead of an error. */
export async function tryRun(command: string, args: readonly string[]): Promise<string | null> {
  try {
    return await run(command, args);
  } catch {
    return null;
  }
}
