import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

/** Reads all of stdin, dropping one trailing newline (as `docker login --password-stdin` does). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Asks for a secret on the terminal without echoing it. */
export async function promptSecret(question: string): Promise<string> {
  return (await promptSecrets([question]))[0]!;
}

/**
 * Asks several questions in turn on one terminal session, echoing no answer. One readline
 * interface for all: a second interface would miss lines the first had already read (pasted
 * input arrives at once).
 */
export function promptSecrets(questions: readonly string[]): Promise<string[]> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  const answers: string[] = [];
  return new Promise((resolve, reject) => {
    let closedEarly = true;
    rl.on('close', () => {
      if (closedEarly) reject(new Error('the terminal closed before every question was answered'));
    });
    const ask = (i: number): void => {
      if (i === questions.length) {
        closedEarly = false;
        rl.close();
        resolve(answers);
        return;
      }
      muted = false;
      rl.question(questions[i]!, (answer) => {
        process.stderr.write('\n');
        answers.push(answer);
        ask(i + 1);
      });
      muted = true;
    };
    ask(0);
  });
}
