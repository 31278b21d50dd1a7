import { describe, expect, it } from 'vitest';
import { consoleText } from '../../src/pingpong/console-text.js';

describe('orchestrator console lines', () => {
  const ru = consoleText('ru');
  const en = consoleText('en');
  const at = new Date(2025, 7, 22, 21, 38, 5);

  it('prints the exercise lines in Russian', () => {
    expect(ru.started(at)).toBe('Начало работы в 21:38');
    expect(ru.running(2, 300_000)).toBe('Сервер и два клиента запущены. Работаем 5 минут...');
    expect(ru.timeout(new Date(2025, 7, 22, 21, 43))).toBe('21:43 - Timeout! Завершаем процессы...');
    expect(ru.stopped()).toBe('Все процессы завершены.');
  });

  it('declines counts and durations', () => {
    expect(ru.running(1, 60_000)).toBe('Сервер и один клиент запущены. Работаем 1 минуту...');
    expect(ru.running(5, 120_000)).toBe('Сервер и 5 клиентов запущены. Работаем 2 минуты...');
    expect(ru.running(22, 11_000)).toBe('Сервер и 22 клиента запущены. Работаем 11 секунд...');
    expect(ru.running(21, 21_000)).toBe('Сервер и 21 клиент запущены. Работаем 21 секунду...');
  });

  it('has an English twin', () => {
    expect(en.running(2, 300_000)).toBe('Server and 2 clients started. Running for 5 minutes...');
    expect(en.stopped()).toBe('All processes stopped.');
  });
});
