import type { MarkerSetName } from './log-format.js';

/**
 * The orchestrator's console lines, as the exercise's run.py prints them (Russian), or in English
 * with --markers en. Only the numbers vary: client count, run length, clock times.
 */

const hhmm = (d: Date): string => `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;

/** Russian plural: one (1, 21 ...), few (2-4, 22-24 ...), many (the rest, 11-14 included). */
function ruPlural(n: number, one: string, few: string, many: string): string {
  const mod10 = n % 10;
  const mod100 = n % 100;
  if (mod10 === 1 && mod100 !== 11) return one;
  if (mod10 >= 2 && mod10 <= 4 && (mod100 < 12 || mod100 > 14)) return few;
  return many;
}

const RU_COUNT_WORDS: Record<number, string> = { 1: 'один', 2: 'два', 3: 'три', 4: 'четыре' };

function ruClients(n: number): string {
  return `${RU_COUNT_WORDS[n] ?? n} ${ruPlural(n, 'клиент', 'клиента', 'клиентов')}`;
}

/** "5 минут" / "30 секунд" / "1.5 минуты" (accusative, as in "Работаем 5 минут"). */
function ruDuration(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} ${ruPlural(ms / 60_000, 'минуту', 'минуты', 'минут')}`;
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000} ${ruPlural(ms / 1000, 'секунду', 'секунды', 'секунд')}`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} секунды`;
  return `${ms} мс`;
}

function enDuration(ms: number): string {
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (ms >= 60_000 && ms % 60_000 === 0) return unit(ms / 60_000, 'minute');
  if (ms >= 1000 && ms % 1000 === 0) return unit(ms / 1000, 'second');
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} seconds`;
  return `${ms} ms`;
}

export function consoleText(language: MarkerSetName) {
  if (language === 'ru') {
    return {
      started: (at: Date) => `Начало работы в ${hhmm(at)}`,
      running: (clients: number, durationMs: number) => `Сервер и ${ruClients(clients)} запущены. Работаем ${ruDuration(durationMs)}...`,
      scaled: (timeScale: number, wallMs: number) => `(--time-scale ${timeScale}: ${ruDuration(Math.round(wallMs))} по часам)`,
      timeout: (at: Date) => `${hhmm(at)} - Timeout! Завершаем процессы...`,
      interrupted: (at: Date) => `${hhmm(at)} - Прервано вручную.`,
      stopped: () => 'Все процессы завершены.',
    };
  }
  return {
    started: (at: Date) => `Started at ${hhmm(at)}`,
    running: (clients: number, durationMs: number) => `Server and ${clients} client${clients === 1 ? '' : 's'} started. Running for ${enDuration(durationMs)}...`,
    scaled: (timeScale: number, wallMs: number) => `(--time-scale ${timeScale}: ${enDuration(Math.round(wallMs))} of wall-clock time)`,
    timeout: (at: Date) => `${hhmm(at)} - Timeout! Stopping processes...`,
    interrupted: (at: Date) => `${hhmm(at)} - Interrupted.`,
    stopped: () => 'All processes stopped.',
  };
}
