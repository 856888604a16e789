//! Pacing what goes to relays, so public relays never see a burst from us that their rate limits
//! refuse: each relay gets a burst of [`Pace::burst`] messages, then [`Pace::per_second`]; the
//! rest waits in a bounded queue ([`MAX_QUEUED`], oldest dropped) and what waited longer than
//! [`MAX_WAIT`] is dropped unsent (signaling that old is no use to anyone). A relay that refused
//! us can be held quiet for a while: what waits for it keeps waiting (within [`MAX_WAIT`], dropped
//! then without a warning: the refusal was warned about), a message it refused can be queued again
//! ahead of the rest ([`Pacer::retry`]), and when the hold ends one message goes, then the steady
//! rate, the burst coming back only as the relay is spared. Nothing over
//! [`MAX_SENT_RELAY_MESSAGE_LEN`] is queued. [`Pacer::send`] and [`Pacer::flush`] are what sessions
//! call; they warn about what could not go.
//!
//! The rate follows the generic cell rate algorithm (as relays' own limiters do): each message
//! moves a theoretical arrival time on by one emission interval, and a message may go while that
//! time is at most a burst's worth of intervals ahead of now.

use crate::strategy::{Context, RelayData, RelayId, MAX_SENT_RELAY_MESSAGE_LEN};
use crate::time::Instant;
use std::collections::VecDeque;
use std::time::Duration;

/// Messages held per relay at most.
pub const MAX_QUEUED: usize = 64;
/// How long a message may wait for its turn.
pub const MAX_WAIT: Duration = Duration::from_secs(15);

/// A rate: a burst, then so many messages per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub burst: u32,
    pub per_second: u32,
}

impl Pace {
    fn interval(self) -> Duration {
        Duration::from_secs(1) / self.per_second.max(1)
    }

    fn tolerance(self) -> Duration {
        self.interval() * self.burst.saturating_sub(1)
    }
}

#[derive(Default)]
struct Lane {
    queue: VecDeque<(Instant, RelayData)>,
    /// The theoretical arrival time of the next message (GCRA).
    next_arrival: Option<Instant>,
    quiet_until: Option<Instant>,
}

/// Per-relay queues that release messages at a [`Pace`].
pub struct Pacer {
    pace: Pace,
    lanes: Vec<Lane>,
}

/// What [`Pacer::push`] did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    /// It waits for its turn.
    Yes,
    /// It waits, and the relay's oldest message was dropped to make room.
    DroppedOldest,
    /// It was dropped: its length is over what relays take.
    TooLarge(usize),
}

impl Pacer {
    pub fn new(relay_count: usize, pace: Pace) -> Self {
        Self { pace, lanes: (0..relay_count).map(|_| Lane::default()).collect() }
    }

    /// Queues `data` for `relay`, unless it is over [`MAX_SENT_RELAY_MESSAGE_LEN`].
    pub fn push(&mut self, relay: RelayId, data: RelayData, now: Instant) -> Queued {
        let len = match &data {
            RelayData::Text(text) => text.len(),
            RelayData::Binary(bytes) => bytes.len(),
        };
        if len > MAX_SENT_RELAY_MESSAGE_LEN {
            return Queued::TooLarge(len);
        }
        let Some(lane) = self.lanes.get_mut(relay.0) else { return Queued::Yes };
        let full = lane.queue.len() >= MAX_QUEUED;
        if full {
            lane.queue.pop_front();
        }
        lane.queue.push_back((now, data));
        if full {
            Queued::DroppedOldest
        } else {
            Queued::Yes
        }
    }

    /// Queues `data` for each of `relays` and sends what may go now, warning about what cannot
    /// go: a message over [`MAX_SENT_RELAY_MESSAGE_LEN`] goes nowhere, a full queue drops its oldest.
    pub fn send(&mut self, relays: &[RelayId], data: RelayData, cx: &mut Context<'_>) {
        for &relay in relays {
            match self.push(relay, data.clone(), cx.now) {
                Queued::Yes => {}
                Queued::DroppedOldest => cx.warn("a relay's queue of messages was full; its oldest was dropped".into()),
                Queued::TooLarge(len) => {
                    return cx.warn(format!(
                        "a relay message of {len} bytes is over the {MAX_SENT_RELAY_MESSAGE_LEN} relays take; it was not sent"
                    ))
                }
            }
        }
        self.flush(cx);
    }

    /// Sends the messages whose turn has come, warning about those that waited too long.
    pub fn flush(&mut self, cx: &mut Context<'_>) {
        let now = cx.now;
        let stale = self.release(now, |relay, data| cx.send(relay, data));
        if stale > 0 {
            cx.warn(format!("{stale} relay messages waited too long for their turn and were dropped"));
        }
    }

    /// Hands every message whose turn has come to `send`; returns how many were dropped stale.
    pub fn release(&mut self, now: Instant, mut send: impl FnMut(RelayId, RelayData)) -> usize {
        let pace = self.pace;
        let mut stale = 0;
        for (index, lane) in self.lanes.iter_mut().enumerate() {
            let held = lane.quiet_until.is_some_and(|until| now < until);
            while lane.queue.front().is_some_and(|(queued, _)| now - *queued > MAX_WAIT) {
                lane.queue.pop_front();
                stale += usize::from(!held);
            }
            if held {
                continue;
            }
            while !lane.queue.is_empty() {
                let arrival = lane.next_arrival.map_or(now, |at| at.max(now));
                if arrival - now > pace.tolerance() {
                    break;
                }
                lane.next_arrival = Some(arrival + pace.interval());
                if let Some((_, data)) = lane.queue.pop_front() {
                    send(RelayId(index), data);
                }
            }
        }
        stale
    }

    /// Queues `data`, which `relay` refused, again ahead of what waits for it, keeping the time it
    /// was first queued (`queued`), unless it is stale or the queue is full.
    pub fn retry(&mut self, relay: RelayId, data: RelayData, queued: Instant, now: Instant) {
        let Some(lane) = self.lanes.get_mut(relay.0) else { return };
        if now - queued <= MAX_WAIT && lane.queue.len() < MAX_QUEUED {
            lane.queue.push_front((queued, data));
        }
    }

    /// When the next queued message may go (or must be dropped), if any waits.
    pub fn next_deadline(&self) -> Option<Instant> {
        let tolerance = self.pace.tolerance();
        self.lanes
            .iter()
            .filter_map(|lane| {
                let (queued, _) = lane.queue.front()?;
                let turn = lane.next_arrival.map_or(*queued, |at| at.saturating_sub(tolerance));
                let turn = lane.quiet_until.map_or(turn, |until| turn.max(until));
                Some(turn.min(*queued + MAX_WAIT + Duration::from_micros(1)))
            })
            .min()
    }

    /// Holds `relay` quiet until `until`; then one message may go, and the rest at the steady rate.
    pub fn hold(&mut self, relay: RelayId, until: Instant) {
        let tolerance = self.pace.tolerance();
        if let Some(lane) = self.lanes.get_mut(relay.0) {
            lane.quiet_until = Some(until);
            lane.next_arrival = Some(until + tolerance);
        }
    }

    /// Whether `relay` is held quiet at `now`.
    pub fn is_held(&self, relay: RelayId, now: Instant) -> bool {
        self.lanes.get(relay.0).is_some_and(|lane| lane.quiet_until.is_some_and(|until| now < until))
    }

    /// `relay`'s connection closed: what waited for it is dropped (a new session announces afresh).
    pub fn clear(&mut self, relay: RelayId) {
        if let Some(lane) = self.lanes.get_mut(relay.0) {
            lane.queue.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACE: Pace = Pace { burst: 3, per_second: 2 };

    fn at(millis: u64) -> Instant {
        Instant::from_micros(millis * 1000)
    }

    fn text(n: usize) -> RelayData {
        RelayData::Text(n.to_string())
    }

    fn released(pacer: &mut Pacer, now: Instant) -> Vec<(usize, RelayData)> {
        let mut sent = Vec::new();
        pacer.release(now, |relay, data| sent.push((relay.0, data)));
        sent
    }

    #[test]
    fn a_burst_goes_at_once_and_the_rest_at_the_rate_per_relay() {
        let mut pacer = Pacer::new(2, PACE);
        for n in 0..5 {
            assert_eq!(pacer.push(RelayId(0), text(n), at(0)), Queued::Yes);
        }
        pacer.push(RelayId(1), text(9), at(0));
        assert_eq!(released(&mut pacer, at(0)), [(0, text(0)), (0, text(1)), (0, text(2)), (1, text(9))]);
        assert_eq!(pacer.next_deadline(), Some(at(500)));
        assert_eq!(released(&mut pacer, at(499)), []);
        assert_eq!(released(&mut pacer, at(500)), [(0, text(3))]);
        assert_eq!(pacer.next_deadline(), Some(at(1000)));
        assert_eq!(released(&mut pacer, at(1000)), [(0, text(4))]);
        assert_eq!(pacer.next_deadline(), None);
        // Idle long enough, the burst is whole again.
        for n in 0..3 {
            pacer.push(RelayId(0), text(n), at(5000));
        }
        assert_eq!(released(&mut pacer, at(5000)).len(), 3);
    }

    #[test]
    fn a_held_relay_keeps_what_waits_then_takes_one_then_the_rate_and_what_goes_stale_is_dropped() {
        let mut pacer = Pacer::new(1, PACE);
        pacer.push(RelayId(0), text(0), at(0));
        pacer.hold(RelayId(0), at(2000));
        assert!(pacer.is_held(RelayId(0), at(1999)));
        assert_eq!(pacer.next_deadline(), Some(at(2000)), "what waited keeps waiting");
        pacer.push(RelayId(0), text(1), at(1000));
        pacer.retry(RelayId(0), text(9), at(0), at(1000));
        pacer.retry(RelayId(0), text(8), at(0), at(15_001));
        assert_eq!(released(&mut pacer, at(1500)), []);
        assert_eq!(released(&mut pacer, at(2000)), [(0, text(9))], "the refused one first, then one at a time");
        assert_eq!(pacer.next_deadline(), Some(at(2500)));
        assert_eq!(released(&mut pacer, at(2500)), [(0, text(0))]);
        assert_eq!(released(&mut pacer, at(3000)), [(0, text(1))]);
        pacer.push(RelayId(0), text(2), at(3000));
        pacer.hold(RelayId(0), at(20_000));
        assert_eq!(pacer.release(at(19_000), |_, _| panic!("held")), 0, "stale while held: dropped silently");
        assert_eq!(pacer.next_deadline(), None);
        let mut slow = Pacer::new(1, Pace { burst: 1, per_second: 1 });
        for n in 0..20 {
            slow.push(RelayId(0), text(n), at(0));
        }
        assert_eq!(released(&mut slow, at(0)).len(), 1);
        assert_eq!(released(&mut slow, at(14_000)).len(), 1, "one per second");
        assert_eq!(slow.release(at(15_001), |_, _| panic!("stale")), 18, "what waited past 15 s is dropped");
        assert_eq!(slow.next_deadline(), None);
    }

    #[test]
    fn send_queues_for_each_relay_and_warns_about_what_cannot_go() {
        use crate::random::Random;
        use crate::strategy::StrategyOutput;
        use crate::time::WallClock;
        let mut pacer = Pacer::new(2, PACE);
        let (mut random, mut out) = (Random::seeded(1), std::collections::VecDeque::new());
        let mut cx = Context::new(at(0), WallClock::default(), &mut random, &mut out);
        pacer.send(&[RelayId(0), RelayId(1)], text(7), &mut cx);
        pacer.send(&[RelayId(0), RelayId(1)], RelayData::Binary(vec![0; MAX_SENT_RELAY_MESSAGE_LEN + 1]), &mut cx);
        let out: Vec<StrategyOutput> = out.into();
        assert!(
            matches!(&out[..], [
            StrategyOutput::Send { relay: RelayId(0), data: a },
            StrategyOutput::Send { relay: RelayId(1), data: b },
            StrategyOutput::Warning(w),
        ] if *a == text(7) && *b == text(7) && w.contains("it was not sent")),
            "{out:?}"
        );
    }

    #[test]
    fn queues_are_bounded_and_oversized_messages_refused() {
        let mut pacer = Pacer::new(1, Pace { burst: 1, per_second: 1 });
        pacer.push(RelayId(0), text(0), at(0));
        assert_eq!(released(&mut pacer, at(0)).len(), 1);
        for n in 0..MAX_QUEUED {
            assert_eq!(pacer.push(RelayId(0), text(n), at(0)), Queued::Yes);
        }
        assert_eq!(pacer.push(RelayId(0), text(MAX_QUEUED), at(0)), Queued::DroppedOldest);
        let big = RelayData::Binary(vec![0; MAX_SENT_RELAY_MESSAGE_LEN + 1]);
        assert_eq!(pacer.push(RelayId(0), big, at(0)), Queued::TooLarge(MAX_SENT_RELAY_MESSAGE_LEN + 1));
        assert_eq!(released(&mut pacer, at(1000)), [(0, text(1))], "the oldest went");
        pacer.clear(RelayId(0));
        assert_eq!(pacer.next_deadline(), None);
    }
}
