//! The transition table: every event in every state, legal or refused.

use super::*;

const SETTINGS: Settings = Settings {
    queue: Limits {
        messages: 4,
        bytes: 1 << 20,
    },
    ledger_bytes: 1 << 20,
    ext: true,
};

fn apply_ok(machine: &mut Machine, event: Event) -> Output {
    let outcome = machine.apply(event);
    outcome.result.expect("legal move")
}

/// The states a test starts from, each reached through legal moves only.
fn state(name: &str) -> Machine {
    let mut m = Machine::new(Transport::Polling, SETTINGS);
    match name {
        "open" => {}
        "claimed" => {
            apply_ok(&mut m, Event::ClaimWebSocket);
        }
        "upgrading" => {
            apply_ok(&mut m, Event::ClaimWebSocket);
            apply_ok(&mut m, Event::ProbeAnswered);
        }
        "upgraded" => {
            apply_ok(&mut m, Event::ClaimWebSocket);
            apply_ok(&mut m, Event::ProbeAnswered);
            apply_ok(&mut m, Event::CompleteUpgrade);
        }
        "websocket" => m = Machine::new(Transport::WebSocket, SETTINGS),
        "closing" => {
            apply_ok(
                &mut m,
                Event::Close {
                    reason: CloseReason::ServerShutdown,
                    graceful: true,
                },
            );
        }
        "closed" => {
            apply_ok(
                &mut m,
                Event::Close {
                    reason: CloseReason::PingTimeout,
                    graceful: false,
                },
            );
        }
        other => panic!("no state {other}"),
    }
    m
}

fn event(name: &str) -> Event {
    match name {
        "admit" => Event::Admit(Message::Text("hi".into())),
        "control" => Event::Control(Packet::Ping(String::new())),
        "attach-polling" => Event::Attach(Transport::Polling),
        "attach-websocket" => Event::Attach(Transport::WebSocket),
        "take-over" => Event::TakeOver,
        "begin-post" => Event::BeginPost,
        "claim-websocket" => Event::ClaimWebSocket,
        "probe-answered" => Event::ProbeAnswered,
        "complete-upgrade" => Event::CompleteUpgrade,
        "abandon-upgrade" => Event::AbandonUpgrade,
        "close-graceful" => Event::Close {
            reason: CloseReason::ServerShutdown,
            graceful: true,
        },
        "close-now" => Event::Close {
            reason: CloseReason::PingTimeout,
            graceful: false,
        },
        "finish" => Event::Finish,
        other => panic!("no event {other}"),
    }
}

fn verdict(result: &Result<Output, Refusal>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(Refusal::Closed(_)) => "closed",
        Err(Refusal::Full(_)) => "full",
        Err(Refusal::SecondReceiver) => "second-receiver",
        Err(Refusal::WrongTransport(_)) => "wrong-transport",
        Err(Refusal::UpgradeInProgress) => "upgrade-in-progress",
        Err(Refusal::AlreadyUpgraded) => "already-upgraded",
        Err(Refusal::NotUpgrading) => "not-upgrading",
        Err(Refusal::PostInFlight) => "post-in-flight",
        Err(Refusal::NotClosing) => "not-closing",
        Err(Refusal::BadAck) => "bad-ack",
        Err(Refusal::LedgerFull) => "ledger-full",
    }
}

/// Rows: the state, then for each event (in `EVENTS` order) the verdict and
/// the phase after it (O = Open, U = Upgrading, C = Closing, X = Closed).
const EVENTS: [&str; 13] = [
    "admit",
    "control",
    "attach-polling",
    "attach-websocket",
    "take-over",
    "begin-post",
    "claim-websocket",
    "probe-answered",
    "complete-upgrade",
    "abandon-upgrade",
    "close-graceful",
    "close-now",
    "finish",
];

#[rustfmt::skip]
const TABLE: [(&str, [(&str, char); 13]); 7] = [
    ("open", [
        ("ok", 'O'), ("ok", 'O'), ("ok", 'O'), ("wrong-transport", 'O'), ("not-upgrading", 'O'),
        ("ok", 'O'), ("ok", 'O'), ("not-upgrading", 'O'), ("not-upgrading", 'O'), ("ok", 'O'),
        ("ok", 'C'), ("ok", 'X'), ("not-closing", 'O'),
    ]),
    ("claimed", [
        ("ok", 'O'), ("ok", 'O'), ("ok", 'O'), ("wrong-transport", 'O'), ("not-upgrading", 'O'),
        ("ok", 'O'), ("upgrade-in-progress", 'O'), ("ok", 'U'), ("not-upgrading", 'O'), ("ok", 'O'),
        ("ok", 'C'), ("ok", 'X'), ("not-closing", 'O'),
    ]),
    ("upgrading", [
        ("ok", 'U'), ("ok", 'U'), ("ok", 'U'), ("wrong-transport", 'U'), ("not-upgrading", 'U'),
        ("ok", 'U'), ("upgrade-in-progress", 'U'), ("upgrade-in-progress", 'U'), ("ok", 'O'), ("ok", 'O'),
        ("ok", 'C'), ("ok", 'X'), ("not-closing", 'U'),
    ]),
    ("upgraded", [
        ("ok", 'O'), ("ok", 'O'), ("wrong-transport", 'O'), ("ok", 'O'), ("ok", 'O'),
        ("wrong-transport", 'O'), ("already-upgraded", 'O'), ("already-upgraded", 'O'), ("not-upgrading", 'O'), ("ok", 'O'),
        ("ok", 'C'), ("ok", 'X'), ("not-closing", 'O'),
    ]),
    ("websocket", [
        ("ok", 'O'), ("ok", 'O'), ("wrong-transport", 'O'), ("ok", 'O'), ("ok", 'O'),
        ("wrong-transport", 'O'), ("already-upgraded", 'O'), ("already-upgraded", 'O'), ("not-upgrading", 'O'), ("ok", 'O'),
        ("ok", 'C'), ("ok", 'X'), ("not-closing", 'O'),
    ]),
    ("closing", [
        ("closed", 'C'), ("ok", 'C'), ("ok", 'C'), ("wrong-transport", 'C'), ("closed", 'C'),
        ("ok", 'C'), ("closed", 'C'), ("closed", 'C'), ("closed", 'C'), ("ok", 'C'),
        ("closed", 'C'), ("ok", 'X'), ("ok", 'X'),
    ]),
    ("closed", [
        ("closed", 'X'), ("closed", 'X'), ("closed", 'X'), ("closed", 'X'), ("closed", 'X'),
        ("closed", 'X'), ("closed", 'X'), ("closed", 'X'), ("closed", 'X'), ("ok", 'X'),
        ("closed", 'X'), ("closed", 'X'), ("closed", 'X'),
    ]),
];

fn phase_letter(phase: Phase) -> char {
    match phase {
        Phase::Open => 'O',
        Phase::Upgrading => 'U',
        Phase::Closing => 'C',
        Phase::Closed => 'X',
    }
}

#[test]
fn transition_table() {
    let mut failures = Vec::new();
    for (state_name, row) in TABLE {
        for (event_name, (expected, phase_after)) in EVENTS.iter().zip(row) {
            let mut machine = state(state_name);
            let outcome = machine.apply(event(event_name));
            let got = (verdict(&outcome.result), phase_letter(machine.phase()));
            if got != (expected, phase_after) {
                failures.push(format!(
                    "{state_name} + {event_name}: expected {expected}/{phase_after}, got {}/{}",
                    got.0, got.1
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn receiver(machine: &mut Machine, transport: Transport) -> ReceiverId {
    match apply_ok(machine, Event::Attach(transport)) {
        Output::Receiver(id) => id,
        other => panic!("expected a receiver, got {other:?}"),
    }
}

fn take(machine: &mut Machine, id: ReceiverId) -> Delivery {
    match apply_ok(
        machine,
        Event::Take {
            receiver: id,
            budget: usize::MAX,
        },
    ) {
        Output::Delivery(delivery) => delivery,
        other => panic!("expected a delivery, got {other:?}"),
    }
}

#[test]
fn a_second_receiver_closes_the_session_and_the_first_gets_the_close() {
    let mut m = state("open");
    let first = receiver(&mut m, Transport::Polling);
    let outcome = m.apply(Event::Attach(Transport::Polling));
    assert_eq!(outcome.result, Err(Refusal::SecondReceiver));
    assert!(outcome.wake.receiver && outcome.wake.stop_inbound);
    assert_eq!(m.phase(), Phase::Closed);
    let overlap = CloseReason::TransportError(TransportError::Overlap).frame();
    assert_eq!(
        take(&mut m, first),
        Delivery::Packets(vec![Packet::Close(Some(overlap))])
    );
    assert_eq!(take(&mut m, first), Delivery::Closed);
}

#[test]
fn a_client_close_ends_the_pending_request_with_a_noop() {
    let mut m = state("open");
    let id = receiver(&mut m, Transport::Polling);
    m.apply(Event::Admit(Message::Text("dropped".into())));
    let outcome = m.apply(Event::Close {
        reason: CloseReason::ClientClosed(CloseFrame::new(CloseFrame::NO_STATUS, "")),
        graceful: false,
    });
    assert!(outcome.result.is_ok());
    assert_eq!(take(&mut m, id), Delivery::Packets(vec![Packet::Noop]));
}

#[test]
fn a_graceful_close_delivers_the_queue_then_the_close_packet() {
    let mut m = state("open");
    let id = receiver(&mut m, Transport::Polling);
    m.apply(Event::Admit(Message::Text("last".into())));
    m.apply(Event::Close {
        reason: CloseReason::ServerClosed(CloseFrame::new(4000, "bye")),
        graceful: true,
    });
    let outcome = m.apply(Event::Take {
        receiver: id,
        budget: usize::MAX,
    });
    assert!(outcome.wake.phase, "drained while closing wakes the driver");
    assert_eq!(
        outcome.result,
        Ok(Output::Delivery(Delivery::Packets(vec![
            Packet::Message(Message::Text("last".into())),
            Packet::Close(Some(CloseFrame::new(4000, "bye"))),
        ])))
    );
    assert!(m.is_drained());
}

#[test]
fn the_probe_releases_the_pending_receiver_and_the_upgrade_switches_transport() {
    let mut m = state("open");
    let id = receiver(&mut m, Transport::Polling);
    apply_ok(&mut m, Event::ClaimWebSocket);
    assert_eq!(take(&mut m, id), Delivery::Empty);
    let outcome = m.apply(Event::ProbeAnswered);
    assert!(outcome.wake.receiver);
    assert_eq!(take(&mut m, id), Delivery::Released);
    m.apply(Event::Detach(id));
    // A GET during the upgrade is answered at once.
    let again = receiver(&mut m, Transport::Polling);
    assert_eq!(take(&mut m, again), Delivery::Released);
    m.apply(Event::Detach(again));
    apply_ok(&mut m, Event::CompleteUpgrade);
    assert_eq!(m.transport(), Transport::WebSocket);
    let websocket = match apply_ok(&mut m, Event::TakeOver) {
        Output::Receiver(id) => id,
        other => panic!("{other:?}"),
    };
    m.apply(Event::Admit(Message::Text("after".into())));
    assert_eq!(
        take(&mut m, websocket),
        Delivery::Packets(vec![Packet::Message(Message::Text("after".into()))])
    );
}

#[test]
fn a_take_over_releases_the_receiver_still_attached() {
    let mut m = state("upgraded");
    let old = receiver(&mut m, Transport::WebSocket);
    let new = match apply_ok(&mut m, Event::TakeOver) {
        Output::Receiver(id) => id,
        other => panic!("{other:?}"),
    };
    assert_eq!(take(&mut m, old), Delivery::Released);
    assert_eq!(take(&mut m, new), Delivery::Empty);
}

#[test]
fn overlapping_posts_close_the_session() {
    let mut m = state("open");
    apply_ok(&mut m, Event::BeginPost);
    assert_eq!(m.apply(Event::BeginPost).result, Err(Refusal::PostInFlight));
    assert_eq!(m.phase(), Phase::Closed);
    let mut m = state("open");
    apply_ok(&mut m, Event::BeginPost);
    apply_ok(&mut m, Event::EndPost);
    apply_ok(&mut m, Event::BeginPost);
}

#[test]
fn a_full_queue_refuses_and_gives_the_message_back() {
    let mut m = state("open");
    for _ in 0..4 {
        apply_ok(&mut m, Event::Admit(Message::Text("x".into())));
    }
    assert_eq!(
        m.apply(Event::Admit(Message::Text("y".into()))).result,
        Err(Refusal::Full(Message::Text("y".into())))
    );
    assert!(m.queue_is_full());
    let id = receiver(&mut m, Transport::Polling);
    let Delivery::Packets(packets) = take(&mut m, id) else {
        panic!("packets expected")
    };
    // Taken is not delivered: still full until the transport says so.
    assert!(m
        .apply(Event::Admit(Message::Text("y".into())))
        .result
        .is_err());
    let outcome = m.apply(Event::Delivered(Held::of(&packets)));
    assert!(outcome.wake.senders);
    apply_ok(&mut m, Event::Admit(Message::Text("y".into())));
}

#[test]
fn a_bad_ack_closes_the_session() {
    let mut m = Machine::new(Transport::XhrStreaming, SETTINGS);
    apply_ok(&mut m, Event::Streamed(vec![Packet::Noop, Packet::Noop]));
    assert_eq!(
        m.apply(Event::ResumeStream(Some(1))).result,
        Ok(Output::Replay(vec![Packet::Noop]))
    );
    assert_eq!(
        m.apply(Event::ResumeStream(Some(7))).result,
        Err(Refusal::BadAck)
    );
    assert_eq!(m.phase(), Phase::Closed);
}

#[test]
fn only_a_polling_handshake_waits_for_the_client_to_return() {
    assert!(!Machine::new(Transport::Polling, SETTINGS).has_returned());
    assert!(Machine::new(Transport::WebSocket, SETTINGS).has_returned());
    let mut m = state("open");
    receiver(&mut m, Transport::Polling);
    assert!(m.has_returned());
}
