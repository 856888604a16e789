//! Waiting for a DataChannel's send buffer to drain.

use std::cell::RefCell;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};
use web_sys::{RtcDataChannel, RtcDataChannelState};

/// Send-buffer level above which senders wait.
pub const HIGH_WATER: u32 = 8 * 1024 * 1024;
/// Level at which the channel's `bufferedamountlow` event wakes waiting senders.
pub const LOW_WATER: u32 = 2 * 1024 * 1024;

/// Tasks waiting for one channel to drain; woken by its `bufferedamountlow` and `close` events.
#[derive(Default)]
pub struct Drain {
    waiters: RefCell<Vec<Waker>>,
}

impl Drain {
    /// Wakes every waiting task so it re-checks the channel.
    pub fn wake_all(&self) {
        for waker in self.waiters.borrow_mut().drain(..) {
            waker.wake();
        }
    }

    /// Resolves once `channel` can take `len` more bytes without passing [`HIGH_WATER`];
    /// fails if the channel is no longer open.
    pub async fn room_for(self: &Rc<Self>, channel: &RtcDataChannel, len: u32) -> Result<(), ChannelClosed> {
        let limit = HIGH_WATER.saturating_sub(len);
        poll_fn(|cx| {
            if channel.ready_state() != RtcDataChannelState::Open {
                return Poll::Ready(Err(ChannelClosed));
            }
            if channel.buffered_amount() <= limit {
                return Poll::Ready(Ok(()));
            }
            self.waiters.borrow_mut().push(cx.waker().clone());
            Poll::Pending
        })
        .await
    }
}

/// The channel closed while data was waiting to be sent.
#[derive(Debug, Clone, Copy)]
pub struct ChannelClosed;
