//! The native ICMP echo check, `check_ping`'s core, without a `ping` process.
//!
//! Linux lets an unprivileged process send echo requests through a datagram ICMP socket when
//! its group is in `/proc/sys/net/ipv4/ping_group_range`; the kernel then fills the
//! identifier and hands back only this socket's replies. Otherwise a raw socket is used when
//! permitted (root or `CAP_NET_RAW`): it sees every ICMP packet of the host, so replies are
//! matched by identifier, sequence, source and a per-run token in the payload. When neither
//! socket can be opened (or the address is IPv6), the runner falls back to
//! `$USER1$/check_ping`.
//!
//! A raw socket receives a copy of every ICMP packet the host gets, so many concurrent raw
//! pings each read all the others' replies: on a poller checking thousands of hosts, allow the
//! service's group in `ping_group_range` (systemd does for all groups by default) so that
//! datagram sockets are used.
//!
//! Requests are sent 200 ms apart (the interval `ping` allows unprivileged users); replies are
//! awaited until one second (or the critical round trip, if longer) after the last request,
//! within the check's timeout.

use crate::{io_message, seconds, Verdict};
use parc_core::monitoring::check::{ping_state, PingThreshold};
use parc_core::monitoring::ServiceState;
use socket2::{Domain, Protocol, Socket, Type};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::time::{sleep_until, Instant};

/// Between two echo requests.
const INTERVAL: Duration = Duration::from_millis(200);
/// The least time replies are awaited after the last request.
const MIN_WAIT: Duration = Duration::from_secs(1);
/// ICMP types.
const ECHO_REQUEST: u8 = 8;
const ECHO_REPLY: u8 = 0;

#[derive(Debug, Clone)]
pub(crate) struct PingSpec {
    pub(crate) address: String,
    pub(crate) warning: PingThreshold,
    pub(crate) critical: PingThreshold,
    pub(crate) packets: u8,
    /// `check_ping`, when `$USER1$` is defined.
    pub(crate) fallback: Option<crate::plugin::ProcessSpec>,
}

impl PingSpec {
    pub(crate) fn describe(&self) -> String {
        format!("ICMP echo to {} ({} packets)", self.address, self.packets)
    }
}

/// Which socket carried the echo requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Datagram,
    Raw,
}

/// Pings natively, or says why it cannot (`Err`: the caller falls back to `check_ping`).
/// `id` tells this run's packets apart from others'.
pub(crate) async fn run(spec: &PingSpec, timeout: Duration, id: u16) -> Result<Verdict, String> {
    let start = Instant::now();
    let deadline = start + timeout;
    let ip = match spec.address.parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => match tokio::time::timeout_at(deadline, tokio::net::lookup_host((spec.address.as_str(), 0))).await {
            Ok(Ok(mut addrs)) => match addrs.find(SocketAddr::is_ipv4) {
                Some(addr) => addr.ip(),
                None => return Err(format!("{} has no IPv4 address", spec.address)),
            },
            Ok(Err(e)) => {
                return Ok(Verdict::native(
                    ServiceState::Critical,
                    &format!("PING CRITICAL - cannot resolve {}: {}", spec.address, io_message(&e)),
                ))
            }
            Err(_) => {
                return Ok(Verdict::native(
                    ServiceState::Critical,
                    &format!("PING CRITICAL - cannot resolve {} within {}", spec.address, seconds(timeout)),
                ))
            }
        },
    };
    let IpAddr::V4(ip) = ip else {
        return Err("native ping is IPv4 only".into());
    };
    let (socket, method) = open()?;
    // An ICMP socket reads and writes whole datagrams, like a UDP one: tokio's UdpSocket
    // drives it without any `unsafe` registration.
    let socket = tokio::net::UdpSocket::from_std(std::net::UdpSocket::from(socket))
        .map_err(|e| format!("cannot register the ICMP socket: {}", io_message(&e)))?;
    // Identifies this run's replies on a raw socket, whatever the identifier.
    let token: [u8; 8] = (u64::from(std::process::id()) << 16 | u64::from(id)).to_be_bytes();
    let id = id ^ (std::process::id() as u16);

    let n = usize::from(spec.packets);
    let mut sent_at: Vec<Option<Instant>> = vec![None; n];
    let mut rtt: Vec<Option<Duration>> = vec![None; n];
    let reply_wait = Duration::from_secs_f64(spec.critical.rta_ms / 1000.0).max(MIN_WAIT);
    let mut next = 0usize;
    let mut buf = [0u8; 1500];
    loop {
        let received = rtt.iter().filter(|r| r.is_some()).count();
        if next == n && received == n {
            break;
        }
        let send_at = start + INTERVAL * next as u32;
        let stop_at = match sent_at.iter().rev().flatten().next() {
            Some(last) if next == n => deadline.min(*last + reply_wait),
            _ => deadline,
        };
        tokio::select! {
            () = sleep_until(send_at), if next < n => {
                let packet = echo_request(id, next as u16, &token);
                if let Err(e) = socket.send_to(&packet, SocketAddr::new(IpAddr::V4(ip), 0)).await {
                    return Ok(Verdict::native(
                        ServiceState::Critical,
                        &format!("PING CRITICAL - cannot send to {ip}: {}", io_message(&e)),
                    ));
                }
                sent_at[next] = Some(Instant::now());
                next += 1;
            }
            received = socket.recv(&mut buf) => {
                let Ok(len) = received else { break };
                if let Some(seq) = parse_reply(&buf[..len], method, ip, id, &token) {
                    if let (Some(Some(sent)), Some(slot)) = (sent_at.get(seq), rtt.get_mut(seq)) {
                        slot.get_or_insert_with(|| sent.elapsed());
                    }
                }
            }
            () = sleep_until(stop_at) => break,
        }
    }

    let replies: Vec<Duration> = rtt.iter().flatten().copied().collect();
    let loss = 100.0 * (n - replies.len()) as f64 / n as f64;
    let rta_ms = (!replies.is_empty())
        .then(|| replies.iter().map(Duration::as_secs_f64).sum::<f64>() * 1000.0 / replies.len() as f64);
    let state = ping_state(spec.warning, spec.critical, rta_ms, loss);
    let (w, c) = (spec.warning, spec.critical);
    let (rta_text, rta_perf) = match rta_ms {
        Some(rta) => (format!("rta {rta:.3} ms, "), format!("{rta:.6}ms")),
        None => (String::new(), "U".to_owned()),
    };
    let how = match method {
        Method::Datagram => "native ICMP echo over a datagram socket",
        Method::Raw => "native ICMP echo over a raw socket",
    };
    let text = format!(
        "PING {state} - {ip}: {rta_text}lost {loss:.0}%|rta={rta_perf};{:.6};{:.6};0.000000 pl={loss:.0}%;{:.0};{:.0};0\n{how}",
        w.rta_ms, c.rta_ms, w.loss_percent, c.loss_percent
    );
    Ok(Verdict::native(state, &text))
}

/// A non-blocking ICMP socket: datagram if the kernel allows it to this group, else raw.
fn open() -> Result<(Socket, Method), String> {
    let socket = match Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::ICMPV4)) {
        Ok(socket) => (socket, Method::Datagram),
        Err(dgram) => match Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4)) {
            Ok(socket) => (socket, Method::Raw),
            Err(raw) => {
                return Err(format!(
                    "no ICMP socket permitted (datagram: {}; raw: {})",
                    io_message(&dgram),
                    io_message(&raw)
                ))
            }
        },
    };
    socket
        .0
        .set_nonblocking(true)
        .map_err(|e| format!("cannot make the ICMP socket non-blocking: {}", io_message(&e)))?;
    Ok(socket)
}

/// An echo request: type, code, checksum, identifier, sequence, then the token.
fn echo_request(id: u16, seq: u16, token: &[u8; 8]) -> Vec<u8> {
    let mut packet = vec![ECHO_REQUEST, 0, 0, 0];
    packet.extend_from_slice(&id.to_be_bytes());
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend_from_slice(token);
    packet.extend_from_slice(b"parc-monitor ping padding....");
    let sum = checksum(&packet);
    packet[2..4].copy_from_slice(&sum.to_be_bytes());
    packet
}

/// The Internet checksum (RFC 1071).
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 =
        data.chunks(2).map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]))).sum();
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The sequence number of one of our echo replies, or `None` for any other packet. A raw
/// socket's packets start with the IPv4 header; a datagram socket's with the ICMP header,
/// its identifier rewritten by the kernel (which only delivers this socket's replies).
fn parse_reply(packet: &[u8], method: Method, from: Ipv4Addr, id: u16, token: &[u8; 8]) -> Option<usize> {
    let icmp = match method {
        Method::Datagram => packet,
        Method::Raw => {
            let header_len = usize::from(packet.first()? & 0x0f) * 4;
            let source = Ipv4Addr::new(*packet.get(12)?, *packet.get(13)?, *packet.get(14)?, *packet.get(15)?);
            if source != from {
                return None;
            }
            packet.get(header_len..)?
        }
    };
    if icmp.len() < 16 || icmp[0] != ECHO_REPLY || icmp[8..16] != token[..] {
        return None;
    }
    if method == Method::Raw && u16::from_be_bytes([icmp[4], icmp[5]]) != id {
        return None;
    }
    Some(usize::from(u16::from_be_bytes([icmp[6], icmp[7]])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_reads_packets() {
        let token = *b"12345678";
        let request = echo_request(0x1234, 2, &token);
        assert_eq!(checksum(&request), 0, "a packet with its checksum sums to zero");
        assert_eq!(&request[..2], &[ECHO_REQUEST, 0]);
        let mut reply = request.clone();
        reply[0] = ECHO_REPLY;
        assert_eq!(parse_reply(&reply, Method::Datagram, Ipv4Addr::LOCALHOST, 0, &token), Some(2));
        assert_eq!(parse_reply(&request, Method::Datagram, Ipv4Addr::LOCALHOST, 0, &token), None);
        assert_eq!(parse_reply(&reply, Method::Datagram, Ipv4Addr::LOCALHOST, 0, b"87654321"), None);
        let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1];
        ip.extend_from_slice(&reply);
        assert_eq!(parse_reply(&ip, Method::Raw, Ipv4Addr::LOCALHOST, 0x1234, &token), Some(2));
        assert_eq!(parse_reply(&ip, Method::Raw, Ipv4Addr::LOCALHOST, 0x4321, &token), None);
        assert_eq!(parse_reply(&ip, Method::Raw, Ipv4Addr::new(10, 0, 0, 1), 0x1234, &token), None);
        assert_eq!(parse_reply(&ip[..10], Method::Raw, Ipv4Addr::LOCALHOST, 0x1234, &token), None);
        assert_eq!(checksum(&[0xff, 0xff]), 0);
        assert_eq!(checksum(&[0x00, 0x01, 0xf2]), !(0x0001u16 + 0xf200));
    }
}
