//! The transition table: every event in every state, legal or refused.

use super::*;

const SETTINGS: Settings = Settings {
    queue: Limits {
        messages: 4,
        bytes: 1 << 20,
    },
    retention: RetentionLimits {
        messages: 4096,
        bytes: 1 << 20,
    },
    ledger_bytes: 1 << 20,
    ext: true,
    resume: false,
};

const RESUME: Settings = Settings {
    resume: true,
    ..SETTINGS
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
        resume if resume.starts_with("r-") => return resume_state(&resume[2..]),
        other => panic!("no state {other}"),
    }
    m
}

/// The same states of a resume session, and its one more: suspended.
fn resume_state(name: &str) -> Machine {
    let mut m = Machine::new(Transport::Polling, RESUME);
    let suspend = Event::Suspend {
        receiver: None,
        reason: CloseReason::PingTimeout,
    };
    match name {
        "open" => {}
        "upgrading" => {
            apply_ok(&mut m, Event::ClaimWebSocket);
            apply_ok(&mut m, Event::ProbeAnswered);
        }
        "websocket" => m = Machine::new(Transport::WebSocket, RESUME),
        "suspended" => {
            apply_ok(&mut m, suspend);
        }
        "suspended-websocket" => {
            m = Machine::new(Transport::WebSocket, RESUME);
            apply_ok(&mut m, suspend);
        }
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
        other => panic!("no resume state {other}"),
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
        "ack" => Event::Ack(0),
        "ack-high" => Event::Ack(1),
        "ack-replay" => Event::AckReplay(0),
        "suspend" => Event::Suspend {
            receiver: None,
            reason: CloseReason::PingTimeout,
        },
        "suspend-stale" => Event::Suspend {
            receiver: Some(99),
            reason: CloseReason::PingTimeout,
        },
        "resume-polling" => Event::Resume {
            transport: Transport::Polling,
            last: 0,
        },
        "resume-websocket" => Event::Resume {
            transport: Transport::WebSocket,
            last: 0,
        },
        "resume-high" => Event::Resume {
            transport: Transport::Polling,
            last: 1,
        },
        "window-over" => Event::WindowOver,
        "incoming" => Event::Incoming {
            number: None,
            bytes: 2,
            from: None,
        },
        "incoming-gap" => Event::Incoming {
            number: Some(2),
            bytes: 2,
            from: None,
        },
        "ack-due" => Event::AckDue,
        other => panic!("no event {other}"),
    }
}

fn verdict(result: &Result<Output, Refusal>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(Refusal::Closed(_)) => "closed",
        Err(Refusal::Full(_) | Refusal::SharedFull) => "full",
        Err(Refusal::SecondReceiver) => "second-receiver",
        Err(Refusal::WrongTransport(_)) => "wrong-transport",
        Err(Refusal::UpgradeInProgress) => "upgrade-in-progress",
        Err(Refusal::AlreadyUpgraded) => "already-upgraded",
        Err(Refusal::NotUpgrading) => "not-upgrading",
        Err(Refusal::PostInFlight) => "post-in-flight",
        Err(Refusal::NotClosing) => "not-closing",
        Err(Refusal::BadAck) => "bad-ack",
        Err(Refusal::LedgerFull) => "ledger-full",
        Err(Refusal::Suspended) => "suspended",
        Err(Refusal::NotResumable) => "not-resumable",
        Err(Refusal::AckOutOfRange) => "ack-out-of-range",
        Err(Refusal::ResumeOutOfRange) => "resume-out-of-range",
        Err(Refusal::SeqOutOfRange) => "seq-out-of-range",
        Err(Refusal::ResumeOverflow) => "resume-overflow",
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

/// The suspended states of a resume session, for the events above
/// (S = Suspended).
#[rustfmt::skip]
const SUSPENDED_TABLE: [(&str, [(&str, char); 13]); 2] = [
    ("r-suspended", [
        ("ok", 'S'), ("ok", 'S'), ("ok", 'O'), ("suspended", 'S'), ("suspended", 'S'),
        ("ok", 'O'), ("suspended", 'S'), ("suspended", 'S'), ("suspended", 'S'), ("ok", 'S'),
        ("ok", 'X'), ("ok", 'X'), ("not-closing", 'S'),
    ]),
    ("r-suspended-websocket", [
        ("ok", 'S'), ("ok", 'S'), ("wrong-transport", 'S'), ("suspended", 'S'), ("suspended", 'S'),
        ("wrong-transport", 'S'), ("suspended", 'S'), ("suspended", 'S'), ("suspended", 'S'), ("ok", 'S'),
        ("ok", 'X'), ("ok", 'X'), ("not-closing", 'S'),
    ]),
];

/// The resume events, in every state of a resume session and in a stock
/// one.
const RESUME_EVENTS: [&str; 13] = [
    "ack",
    "ack-high",
    "ack-replay",
    "suspend",
    "suspend-stale",
    "resume-polling",
    "resume-websocket",
    "resume-high",
    "window-over",
    "incoming",
    "incoming-gap",
    "ack-due",
    "finish",
];

#[rustfmt::skip]
const RESUME_TABLE: [(&str, [(&str, char); 13]); 8] = [
    ("r-open", [
        ("ok", 'O'), ("ack-out-of-range", 'X'), ("ok", 'O'), ("ok", 'S'), ("ok", 'O'),
        ("ok", 'O'), ("ok", 'O'), ("resume-out-of-range", 'X'), ("ok", 'O'),
        ("ok", 'O'), ("seq-out-of-range", 'X'), ("ok", 'O'), ("not-closing", 'O'),
    ]),
    ("r-upgrading", [
        ("ok", 'U'), ("ack-out-of-range", 'X'), ("ok", 'U'), ("ok", 'S'), ("ok", 'U'),
        ("ok", 'O'), ("ok", 'O'), ("resume-out-of-range", 'X'), ("ok", 'U'),
        ("ok", 'U'), ("seq-out-of-range", 'X'), ("ok", 'U'), ("not-closing", 'U'),
    ]),
    ("r-websocket", [
        ("ok", 'O'), ("ack-out-of-range", 'X'), ("ok", 'O'), ("ok", 'S'), ("ok", 'O'),
        ("ok", 'O'), ("ok", 'O'), ("resume-out-of-range", 'X'), ("ok", 'O'),
        ("ok", 'O'), ("seq-out-of-range", 'X'), ("ok", 'O'), ("not-closing", 'O'),
    ]),
    ("r-suspended", [
        ("ok", 'S'), ("ack-out-of-range", 'X'), ("ok", 'S'), ("ok", 'S'), ("ok", 'S'),
        ("ok", 'O'), ("ok", 'O'), ("resume-out-of-range", 'X'), ("ok", 'X'),
        ("ok", 'S'), ("seq-out-of-range", 'X'), ("ok", 'S'), ("not-closing", 'S'),
    ]),
    ("r-closing", [
        ("ok", 'C'), ("ack-out-of-range", 'X'), ("ok", 'C'), ("closed", 'C'), ("closed", 'C'),
        ("closed", 'C'), ("closed", 'C'), ("closed", 'C'), ("ok", 'C'),
        ("ok", 'C'), ("seq-out-of-range", 'X'), ("ok", 'C'), ("ok", 'X'),
    ]),
    ("r-closed", [
        ("closed", 'X'), ("closed", 'X'), ("closed", 'X'), ("closed", 'X'), ("closed", 'X'),
        ("closed", 'X'), ("closed", 'X'), ("closed", 'X'), ("ok", 'X'),
        ("ok", 'X'), ("seq-out-of-range", 'X'), ("ok", 'X'), ("closed", 'X'),
    ]),
    // A stock session: no numbering; a loss closes at once.
    ("open", [
        ("not-resumable", 'O'), ("not-resumable", 'O'), ("not-resumable", 'O'), ("ok", 'X'), ("ok", 'X'),
        ("not-resumable", 'O'), ("not-resumable", 'O'), ("not-resumable", 'O'), ("ok", 'O'),
        ("ok", 'O'), ("ok", 'O'), ("ok", 'O'), ("not-closing", 'O'),
    ]),
    ("closed", [
        ("closed", 'X'), ("closed", 'X'), ("closed", 'X'), ("closed", 'X'), ("closed", 'X'),
        ("closed", 'X'), ("closed", 'X'), ("closed", 'X'), ("ok", 'X'),
        ("ok", 'X'), ("ok", 'X'), ("ok", 'X'), ("closed", 'X'),
    ]),
];

fn phase_letter(phase: Phase) -> char {
    match phase {
        Phase::Open => 'O',
        Phase::Upgrading => 'U',
        Phase::Suspended => 'S',
        Phase::Closing => 'C',
        Phase::Closed => 'X',
    }
}

#[test]
fn transition_table() {
    check_table(&EVENTS, &TABLE);
    check_table(&EVENTS, &SUSPENDED_TABLE);
    check_table(&RESUME_EVENTS, &RESUME_TABLE);
}

fn check_table<const N: usize>(events: &[&str; N], table: &[(&str, [(&str, char); N])]) {
    let mut failures = Vec::new();
    for (state_name, row) in table {
        for (event_name, (expected, phase_after)) in events.iter().zip(row) {
            let mut machine = state(state_name);
            let outcome = machine.apply(event(event_name));
            let got = (verdict(&outcome.result), phase_letter(machine.phase()));
            if got != (*expected, *phase_after) {
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

fn resume_receiver(m: &mut Machine) -> ReceiverId {
    receiver(m, Transport::Polling)
}

fn messages(texts: &[&str]) -> Vec<Packet> {
    texts
        .iter()
        .map(|t| Packet::Message(Message::Text((*t).into())))
        .collect()
}

#[test]
fn a_resume_session_retains_written_messages_until_acknowledged() {
    let mut m = Machine::new(Transport::Polling, RESUME);
    for text in ["a", "b", "c"] {
        apply_ok(&mut m, Event::Admit(Message::Text(text.into())));
    }
    let id = resume_receiver(&mut m);
    let Delivery::Packets(packets) = take(&mut m, id) else {
        panic!("packets")
    };
    assert_eq!(packets, messages(&["a", "b", "c"]));
    // Written: out of the queue's account, the copies in retention.
    m.apply(Event::Delivered(Held::of(&packets)));
    assert_eq!(m.held(), Held::default());
    let three = m.retained_bytes();
    assert!(three > 0);
    apply_ok(&mut m, Event::Ack(2));
    assert_eq!(m.retained_bytes(), three / 3, "a and b forgotten, c kept");
    // A GET whose ack says c never arrived gets it again, same number,
    // counted in the queue again until written again.
    apply_ok(&mut m, Event::AckReplay(2));
    assert_eq!(m.held().messages, 1);
    let Delivery::Packets(again) = take(&mut m, id) else {
        panic!("packets")
    };
    assert_eq!(again, messages(&["c"]));
    m.apply(Event::Delivered(Held::of(&again)));
    assert_eq!(m.held(), Held::default());
    // A POST's ack overtaken by a GET's: stale, harmless.
    apply_ok(&mut m, Event::Ack(1));
    assert_eq!(m.phase(), Phase::Open);
    assert_eq!(m.retained_bytes(), three / 3, "c still kept");
}

/// A taken batch the transport could not write: its messages are retained
/// already, so they leave the queue (the next `ack` replays them).
#[test]
fn unwritten_messages_leave_the_queue_for_retention() {
    let mut m = Machine::new(Transport::Polling, RESUME);
    for text in ["a", "b"] {
        apply_ok(&mut m, Event::Admit(Message::Text(text.into())));
    }
    let id = resume_receiver(&mut m);
    let Delivery::Packets(packets) = take(&mut m, id) else {
        panic!("packets")
    };
    let outcome = m.apply(Event::Requeue(packets));
    assert!(outcome.wake.senders, "room was made");
    assert_eq!(m.held(), Held::default());
    apply_ok(&mut m, Event::AckReplay(0));
    assert_eq!(take(&mut m, id), Delivery::Packets(messages(&["a", "b"])));
}

const SMALL_RETENTION: Settings = Settings {
    retention: RetentionLimits {
        messages: 2,
        bytes: 1 << 20,
    },
    ..RESUME
};

/// Past the retention bound the oldest copies go and the session runs on;
/// only a replay that needs one of them closes it, with its own reason.
#[test]
fn a_replay_that_needs_a_dropped_copy_closes_with_resume_overflow() {
    let mut m = Machine::new(Transport::Polling, SMALL_RETENTION);
    let id = resume_receiver(&mut m);
    for text in ["a", "b", "c", "d"] {
        apply_ok(&mut m, Event::Admit(Message::Text(text.into())));
        let Delivery::Packets(packets) = take(&mut m, id) else {
            panic!("packets")
        };
        m.apply(Event::Delivered(Held::of(&packets)));
    }
    assert_eq!(m.phase(), Phase::Open, "dropping copies closes nothing");
    // The client has a and b: c and d are kept, the replay works.
    apply_ok(&mut m, Event::AckReplay(2));
    assert_eq!(take(&mut m, id), Delivery::Packets(messages(&["c", "d"])));
    let mut m = Machine::new(Transport::WebSocket, SMALL_RETENTION);
    let ws = receiver(&mut m, Transport::WebSocket);
    for text in ["a", "b", "c"] {
        apply_ok(&mut m, Event::Admit(Message::Text(text.into())));
    }
    let Delivery::Packets(packets) = take(&mut m, ws) else {
        panic!("packets")
    };
    m.apply(Event::Delivered(Held::of(&packets)));
    let outcome = m.apply(Event::Resume {
        transport: Transport::Polling,
        last: 0,
    });
    assert_eq!(outcome.result, Err(Refusal::ResumeOverflow));
    assert_eq!(m.phase(), Phase::Closed);
    assert_eq!(m.close_reason(), Some(&CloseReason::ResumeOverflow));
}

#[test]
fn a_resume_session_accepts_a_post_sent_again_over_a_cut_one() {
    let mut m = Machine::new(Transport::Polling, RESUME);
    apply_ok(&mut m, Event::BeginPost);
    apply_ok(&mut m, Event::BeginPost);
    assert_eq!(m.phase(), Phase::Open);
}

#[test]
fn an_ack_above_what_was_sent_closes() {
    let mut m = Machine::new(Transport::Polling, RESUME);
    apply_ok(&mut m, Event::Admit(Message::Text("queued".into())));
    // Queued but never written: not "sent".
    assert_eq!(m.apply(Event::Ack(1)).result, Err(Refusal::AckOutOfRange));
    assert_eq!(m.phase(), Phase::Closed);
}

#[test]
fn a_resume_replays_after_last_and_tells_what_arrived() {
    let mut m = Machine::new(Transport::WebSocket, RESUME);
    let ws = receiver(&mut m, Transport::WebSocket);
    for text in ["1", "2", "3"] {
        apply_ok(&mut m, Event::Admit(Message::Text(text.into())));
    }
    take(&mut m, ws);
    for _ in 0..2 {
        apply_ok(
            &mut m,
            Event::Incoming {
                number: None,
                bytes: 1,
                from: None,
            },
        );
    }
    apply_ok(
        &mut m,
        Event::Suspend {
            receiver: Some(ws),
            reason: CloseReason::PingTimeout,
        },
    );
    assert_eq!(m.phase(), Phase::Suspended);
    apply_ok(&mut m, Event::Admit(Message::Text("4".into())));
    assert_eq!(take(&mut m, ws), Delivery::Released, "the old socket ends");
    let Output::Resumed { receiver, received } = apply_ok(
        &mut m,
        Event::Resume {
            transport: Transport::Htmlfile,
            last: 1,
        },
    ) else {
        panic!("resumed")
    };
    assert_eq!(received, 2);
    let late = m.apply(Event::Incoming {
        number: None,
        bytes: 1,
        from: Some(ws),
    });
    assert_eq!(
        late.result,
        Ok(Output::Incoming {
            deliver: false,
            start_ack_timer: false
        }),
        "what the replaced socket still reads is dropped"
    );
    assert_eq!(m.transport(), Transport::Htmlfile);
    let new = receiver.expect("a streaming resume gets its receiver");
    assert_eq!(
        take(&mut m, new),
        Delivery::Packets(messages(&["2", "3", "4"])),
        "in order, no ack: resumed told the count"
    );
}

#[test]
fn duplicates_are_dropped_and_gaps_refused() {
    let mut m = Machine::new(Transport::Polling, RESUME);
    let incoming = |m: &mut Machine, number| {
        m.apply(Event::Incoming {
            number: Some(number),
            bytes: 1,
            from: None,
        })
        .result
    };
    let deliver = |first| Output::Incoming {
        deliver: true,
        start_ack_timer: first,
    };
    assert_eq!(incoming(&mut m, 1), Ok(deliver(true)));
    assert_eq!(incoming(&mut m, 2), Ok(deliver(false)));
    assert_eq!(
        incoming(&mut m, 1),
        Ok(Output::Incoming {
            deliver: false,
            start_ack_timer: false
        })
    );
    assert_eq!(incoming(&mut m, 4), Err(Refusal::SeqOutOfRange));
    assert_eq!(m.phase(), Phase::Closed);
}

#[test]
fn acks_go_first_in_a_batch_and_alone_when_due() {
    let mut m = Machine::new(Transport::Polling, RESUME);
    let id = resume_receiver(&mut m);
    let one = Event::Incoming {
        number: None,
        bytes: 10,
        from: None,
    };
    apply_ok(&mut m, one);
    assert_eq!(take(&mut m, id), Delivery::Empty, "not due yet");
    let due = m.apply(Event::AckDue);
    assert!(due.wake.receiver);
    assert_eq!(take(&mut m, id), Delivery::Packets(vec![Packet::Ack(1)]));
    // Fifteen more are not enough; the sixteenth makes it due at once.
    for n in 0..16 {
        let outcome = m.apply(Event::Incoming {
            number: None,
            bytes: 1,
            from: None,
        });
        assert_eq!(outcome.wake.receiver, n == 15, "message {n}");
    }
    apply_ok(&mut m, Event::Admit(Message::Text("x".into())));
    let mut expected = vec![Packet::Ack(17)];
    expected.extend(messages(&["x"]));
    assert_eq!(take(&mut m, id), Delivery::Packets(expected));
}
