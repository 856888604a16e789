//! Fitting a session description into a relay message: relays cap their messages (16 KiB on
//! public trackers), and each ICE candidate adds a line, so a host with many addresses could
//! otherwise make a description no relay carries. Candidates are left out lowest ICE priority
//! first (TCP and relayed ones before host UDP ones, as browsers rank them) until it fits.

use std::borrow::Cow;

/// The largest description put into a signaling message. Sealed (base64 of nonce, stamp, mark,
/// description and tag) it stays under 14 KiB, so any strategy's message carrying it stays
/// within [`crate::strategy::MAX_SENT_RELAY_MESSAGE_LEN`].
pub const MAX_SIGNALED_SDP_LEN: usize = 10 * 1024;

/// `sdp` within `max` bytes, and how many candidate lines were left out to make it fit. A
/// description whose other lines alone pass `max` keeps none of its candidates.
pub fn fit(sdp: &str, max: usize) -> (Cow<'_, str>, usize) {
    if sdp.len() <= max {
        return (Cow::Borrowed(sdp), 0);
    }
    let lines: Vec<&str> = sdp.split_inclusive('\n').collect();
    let mut candidates: Vec<(u32, usize)> = lines
        .iter()
        .enumerate()
        .filter_map(|(index, line)| candidate_priority(line).map(|priority| (priority, index)))
        .collect();
    // Lowest priority first; of equal ones, the later line first.
    candidates.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut dropped = vec![false; lines.len()];
    let mut len = sdp.len();
    let mut count = 0;
    for (_, index) in candidates {
        if len <= max {
            break;
        }
        dropped[index] = true;
        len -= lines[index].len();
        count += 1;
    }
    let kept: String = lines.iter().zip(&dropped).filter(|(_, &d)| !d).map(|(line, _)| *line).collect();
    (Cow::Owned(kept), count)
}

/// The ICE priority of an `a=candidate:` line (RFC 8839: foundation, component, transport,
/// priority, …); 0 when it cannot be read, so unreadable candidates go first.
fn candidate_priority(line: &str) -> Option<u32> {
    let rest = line.strip_prefix("a=candidate:")?;
    Some(rest.split_whitespace().nth(3).and_then(|p| p.parse().ok()).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(priority: u32, ip: &str, transport: &str) -> String {
        format!("a=candidate:1 1 {transport} {priority} {ip} 9 typ host generation 0\r\n")
    }

    fn description(candidates: &[String]) -> String {
        let head =
            "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";
        format!("{head}{}a=sctp-port:5000\r\n", candidates.concat())
    }

    #[test]
    fn a_description_that_fits_is_kept_as_it_is() {
        let sdp = description(&[candidate(2122260223, "10.0.0.1", "udp")]);
        assert_eq!(fit(&sdp, sdp.len()), (Cow::Borrowed(sdp.as_str()), 0));
    }

    #[test]
    fn candidates_go_lowest_priority_first_until_it_fits() {
        let udp = candidate(2122260223, "10.0.0.1", "udp");
        let tcp = candidate(1518280447, "10.0.0.1", "tcp");
        let second_udp = candidate(2122194687, "10.0.0.2", "udp");
        let sdp = description(&[udp.clone(), tcp.clone(), second_udp.clone()]);
        let (fitted, dropped) = fit(&sdp, sdp.len() - 1);
        assert_eq!((fitted.as_ref(), dropped), (description(&[udp.clone(), second_udp.clone()]).as_str(), 1));
        let (fitted, dropped) = fit(&sdp, sdp.len() - tcp.len() - 1);
        assert_eq!((fitted.as_ref(), dropped), (description(std::slice::from_ref(&udp)).as_str(), 2));
    }

    #[test]
    fn unreadable_candidates_go_first_and_other_lines_stay() {
        let good = candidate(100, "10.0.0.1", "udp");
        let sdp = description(&[good.clone(), "a=candidate:junk\r\n".into()]);
        let (fitted, dropped) = fit(&sdp, sdp.len() - 1);
        assert_eq!((fitted.as_ref(), dropped), (description(&[good]).as_str(), 1));
        let (fitted, dropped) = fit(&sdp, 10);
        assert_eq!((fitted.as_ref(), dropped), (description(&[]).as_str(), 2));
    }
}
