// A clock the test drives: the server's timers (reminders, escalations, timeouts, schedules) fire when it is moved.

export interface TestClock {
  now(): number
  set(at: string | number): void
  advance(ms: number): void
}

export function testClock(start: string | number = Date.now()): TestClock {
  let t = typeof start === 'number' ? start : Date.parse(start)
  return {
    now: () => t,
    set(at) {
      t = typeof at === 'number' ? at : Date.parse(at)
    },
    advance(ms) {
      t += ms
    },
  }
}

/** Real time plus an offset the test moves forward: timers fall due at once, everything else keeps real time. */
export function shiftedClock(): TestClock {
  let offset = 0
  return {
    now: () => Date.now() + offset,
    set(at) {
      offset = (typeof at === 'number' ? at : Date.parse(at)) - Date.now()
    },
    advance(ms) {
      offset += ms
    },
  }
}
