//! Test vectors: every MSRP message of wire-examples.md (examples 5-17), as text with
//! LF line ends; [`wire`] turns one into its CRLF wire form (RFC 4975 §7.1).

/// One message: (example number, index in the example, direction label, text).
pub(crate) const MESSAGES: &[(u8, u8, &str, &str)] = &[
    (
        5,
        0,
        "Alice -> switch (new TCP connection to 192.0.2.10:2855)",
        r#"MSRP f3Kq9LzX2mPw7Rt1 SEND
To-Path: msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp
From-Path: msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp
Message-ID: Hs72Kdq0PzW9xLm1
Byte-Range: 1-0/0
-------f3Kq9LzX2mPw7Rt1$"#,
    ),
    (
        5,
        1,
        "switch -> Alice",
        r#"MSRP f3Kq9LzX2mPw7Rt1 200 OK
To-Path: msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp
From-Path: msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp
-------f3Kq9LzX2mPw7Rt1$"#,
    ),
    (
        6,
        0,
        "F1 Alice -> switch",
        r#"MSRP d93kswow NICKNAME
To-Path: msrp://chat.example.com:12763/kjhd37s2s20w2a;tcp
From-Path: msrp://client.atlanta.example.com:7654/jshA7weztas;tcp
Use-Nickname: "Alice the great"
-------d93kswow$"#,
    ),
    (
        6,
        1,
        "F2 switch -> Alice",
        r#"MSRP d93kswow 425 Nickname reserved or already in use
To-Path: msrp://client.atlanta.example.com:7654/jshA7weztas;tcp
From-Path: msrp://chat.example.com:12763/kjhd37s2s20w2a;tcp
-------d93kswow$"#,
    ),
    (
        6,
        2,
        "F3 Alice -> switch",
        r#"MSRP 09swk2d NICKNAME
To-Path: msrp://chat.example.com:12763/kjhd37s2s20w2a;tcp
From-Path: msrp://client.atlanta.example.com:7654/jshA7weztas;tcp
Use-Nickname: "Alice in Wonderland"
-------09swk2d$"#,
    ),
    (
        6,
        3,
        "F4 switch -> Alice",
        r#"MSRP 09swk2d 200 OK
To-Path: msrp://client.atlanta.example.com:7654/jshA7weztas;tcp
From-Path: msrp://chat.example.com:12763/kjhd37s2s20w2a;tcp
-------09swk2d$"#,
    ),
    (
        7,
        0,
        "Alice -> switch",
        r#"MSRP Vb6Nq1Xc8Zr4Tw0e NICKNAME
To-Path: msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp
From-Path: msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp
Use-Nickname: Alice
-------Vb6Nq1Xc8Zr4Tw0e$"#,
    ),
    (
        7,
        1,
        "switch -> Alice",
        r#"MSRP Vb6Nq1Xc8Zr4Tw0e 424 Malformed nickname
To-Path: msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp
From-Path: msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp
-------Vb6Nq1Xc8Zr4Tw0e$"#,
    ),
    (
        8,
        0,
        "Alice -> switch",
        r#"MSRP Gg5Hh6Jj7Kk8Ll9M NICKNAME
To-Path: msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp
From-Path: msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp
Use-Nickname: ""
-------Gg5Hh6Jj7Kk8Ll9M$"#,
    ),
    (
        8,
        1,
        "switch -> Alice",
        r#"MSRP Gg5Hh6Jj7Kk8Ll9M 200 OK
To-Path: msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp
From-Path: msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp
-------Gg5Hh6Jj7Kk8Ll9M$"#,
    ),
    (
        9,
        0,
        "Alice -> switch",
        r#"MSRP 3490visdmN4b8Q2z SEND
To-Path: msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp
From-Path: msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp
Message-ID: 99s9s2Rk4Lp7Xw1Q
Byte-Range: 1-166/166
Content-Type: message/cpim

From: <sip:alice@atlanta.example.com>
To: <sip:chat22@chat.example.com>
DateTime: 2025-01-15T10:02:31Z

Content-Type: text/plain; charset=utf-8

Hello everyone!
-------3490visdmN4b8Q2z$"#,
    ),
    (
        9,
        1,
        "switch -> Alice",
        r#"MSRP 3490visdmN4b8Q2z 200 OK
To-Path: msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp
From-Path: msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp
-------3490visdmN4b8Q2z$"#,
    ),
    (
        9,
        2,
        "switch -> Bob (Bob’s own MSRP session with the switch)",
        r#"MSRP 490ej23Pq8Vn5Kx2 SEND
To-Path: msrp://192.0.2.102:4923/49dufdje2Wq7Lm3x;tcp
From-Path: msrp://192.0.2.10:2855/jofofo3Tz6Yh2Kp9;tcp
Message-ID: 304sse2Hy6Tq9Wm4
Byte-Range: 1-166/166
Content-Type: message/cpim

From: <sip:alice@atlanta.example.com>
To: <sip:chat22@chat.example.com>
DateTime: 2025-01-15T10:02:31Z

Content-Type: text/plain; charset=utf-8

Hello everyone!
-------490ej23Pq8Vn5Kx2$"#,
    ),
    (
        9,
        3,
        "Bob -> switch",
        r#"MSRP 490ej23Pq8Vn5Kx2 200 OK
To-Path: msrp://192.0.2.10:2855/jofofo3Tz6Yh2Kp9;tcp
From-Path: msrp://192.0.2.102:4923/49dufdje2Wq7Lm3x;tcp
-------490ej23Pq8Vn5Kx2$"#,
    ),
    (
        10,
        0,
        "Alice -> switch",
        r#"MSRP 6959ssdfK2w8Pz4Q SEND
To-Path: msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp
From-Path: msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp
Message-ID: okj3kwZ5r7Tb1Nq8
Byte-Range: 1-160/160
Content-Type: message/cpim

From: <sip:alice@atlanta.example.com>
To: <sip:bob@biloxi.example.com>
DateTime: 2025-01-15T10:03:05Z

Content-Type: text/plain; charset=utf-8

Hello Bob.
-------6959ssdfK2w8Pz4Q$"#,
    ),
    (
        10,
        1,
        "switch -> Alice",
        r#"MSRP 6959ssdfK2w8Pz4Q 200 OK
To-Path: msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp
From-Path: msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp
-------6959ssdfK2w8Pz4Q$"#,
    ),
    (
        10,
        2,
        "switch -> Bob",
        r#"MSRP 9v9s2Lk3Jh4Gf5Ds SEND
To-Path: msrp://192.0.2.102:4923/49dufdje2Wq7Lm3x;tcp
From-Path: msrp://192.0.2.10:2855/jofofo3Tz6Yh2Kp9;tcp
Message-ID: d9fghe982Xc7Vb6N
Byte-Range: 1-160/160
Content-Type: message/cpim

From: <sip:alice@atlanta.example.com>
To: <sip:bob@biloxi.example.com>
DateTime: 2025-01-15T10:03:05Z

Content-Type: text/plain; charset=utf-8

Hello Bob.
-------9v9s2Lk3Jh4Gf5Ds$"#,
    ),
    (
        11,
        0,
        "Alice -> switch",
        r#"MSRP Ux7Yt2Rq9Pw3Zm6L SEND
To-Path: msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp
From-Path: msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp
Message-ID: Mm4Nn5Bb6Vv7Cc8X
Byte-Range: 1-159/159
Content-Type: message/cpim

From: <sip:alice@atlanta.example.com>
To: <sip:carol@example.org>
DateTime: 2025-01-15T10:04:00Z

Content-Type: text/plain; charset=utf-8

Are you there?
-------Ux7Yt2Rq9Pw3Zm6L$"#,
    ),
    (
        11,
        1,
        "switch -> Alice (recipient not in the room)",
        r#"MSRP Ux7Yt2Rq9Pw3Zm6L 404 Failure to resolve recipient's URI
To-Path: msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp
From-Path: msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp
-------Ux7Yt2Rq9Pw3Zm6L$"#,
    ),
    (
        11,
        2,
        "switch -> Alice (alternative: recipient does not support private messages)",
        r#"MSRP Ux7Yt2Rq9Pw3Zm6L 428 Private messages not supported
To-Path: msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp
From-Path: msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp
-------Ux7Yt2Rq9Pw3Zm6L$"#,
    ),
    (
        12,
        0,
        "Alice -> switch",
        r#"MSRP Qa1Ws2Ed3Rf4Tg5Y SEND
To-Path: msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp
From-Path: msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp
Message-ID: Zx9Cv8Bn7Mq6Wr5T
Byte-Range: 1-2/2
Content-Type: text/plain

hi
-------Qa1Ws2Ed3Rf4Tg5Y$"#,
    ),
    (
        12,
        1,
        "switch -> Alice",
        r#"MSRP Qa1Ws2Ed3Rf4Tg5Y 415 Unsupported media type
To-Path: msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp
From-Path: msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp
-------Qa1Ws2Ed3Rf4Tg5Y$"#,
    ),
    (
        13,
        0,
        "Alice (claiming to be Bob) -> switch",
        r#"MSRP Lp0Ok9Ij8Uh7Yg6T SEND
To-Path: msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp
From-Path: msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp
Message-ID: Rt5Fg6Hj7Kl8Zx9C
Byte-Range: 1-118/118
Content-Type: message/cpim

From: <sip:bob@biloxi.example.com>
To: <sip:chat22@chat.example.com>

Content-Type: text/plain

I am Bob, honest.
-------Lp0Ok9Ij8Uh7Yg6T$"#,
    ),
    (
        13,
        1,
        "switch -> Alice",
        r#"MSRP Lp0Ok9Ij8Uh7Yg6T 403 Forbidden
To-Path: msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp
From-Path: msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp
-------Lp0Ok9Ij8Uh7Yg6T$"#,
    ),
    (
        14,
        0,
        "Alice -> switch, chunk 1",
        r#"MSRP dkei38sdA1b2C3d4 SEND
To-Path: msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp
From-Path: msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp
Message-ID: 4564dpWdE5f6G7h8
Byte-Range: 1-161/171
Content-Type: message/cpim

From: <sip:alice@atlanta.example.com>
To: <sip:chat22@chat.example.com>
DateTime: 2025-01-15T10:05:00Z

Content-Type: text/plain; charset=utf-8

ABCDEFGHIJ
-------dkei38sdA1b2C3d4+"#,
    ),
    (
        14,
        1,
        "switch -> Alice",
        r#"MSRP dkei38sdA1b2C3d4 200 OK
To-Path: msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp
From-Path: msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp
-------dkei38sdA1b2C3d4$"#,
    ),
    (
        14,
        2,
        "Alice -> switch, chunk 2",
        r#"MSRP dkei38iaI9j0K1l2 SEND
To-Path: msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp
From-Path: msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp
Message-ID: 4564dpWdE5f6G7h8
Byte-Range: 162-171/171
Content-Type: message/cpim

KLMNOPQRST
-------dkei38iaI9j0K1l2$"#,
    ),
    (
        14,
        3,
        "switch -> Alice",
        r#"MSRP dkei38iaI9j0K1l2 200 OK
To-Path: msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp
From-Path: msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp
-------dkei38iaI9j0K1l2$"#,
    ),
    (
        15,
        0,
        "switch -> Bob (chunk 1, range-end `*` because the switch does not yet know where the chunk will end)",
        r#"MSRP Ww1Ee2Rr3Tt4Yy5U SEND
To-Path: msrp://192.0.2.102:4923/49dufdje2Wq7Lm3x;tcp
From-Path: msrp://192.0.2.10:2855/jofofo3Tz6Yh2Kp9;tcp
Message-ID: Ff6Gg7Hh8Jj9Kk0L
Byte-Range: 1-*/171
Content-Type: message/cpim

From: <sip:alice@atlanta.example.com>
To: <sip:chat22@chat.example.com>
DateTime: 2025-01-15T10:05:00Z

Content-Type: text/plain; charset=utf-8

ABCDEFGHIJ
-------Ww1Ee2Rr3Tt4Yy5U+"#,
    ),
    (
        15,
        1,
        "switch -> Bob (abort, after the timer)",
        r#"MSRP Zz9Xx8Cc7Vv6Bb5N SEND
To-Path: msrp://192.0.2.102:4923/49dufdje2Wq7Lm3x;tcp
From-Path: msrp://192.0.2.10:2855/jofofo3Tz6Yh2Kp9;tcp
Message-ID: Ff6Gg7Hh8Jj9Kk0L
Byte-Range: 162-*/171
-------Zz9Xx8Cc7Vv6Bb5N#"#,
    ),
    (
        16,
        0,
        "Alice -> switch",
        r#"MSRP Pp1Oo2Ii3Uu4Yy5T SEND
To-Path: msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp
From-Path: msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp
Message-ID: Sr9Ep8Ou7Rt6Yq5W
Byte-Range: 1-108/108
Success-Report: yes
Failure-Report: yes
Content-Type: message/cpim

From: <sip:alice@atlanta.example.com>
To: <sip:chat22@chat.example.com>

Content-Type: text/plain

ping
-------Pp1Oo2Ii3Uu4Yy5T$"#,
    ),
    (
        16,
        1,
        "switch -> Alice",
        r#"MSRP Pp1Oo2Ii3Uu4Yy5T 200 OK
To-Path: msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp
From-Path: msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp
-------Pp1Oo2Ii3Uu4Yy5T$"#,
    ),
    (
        16,
        2,
        "switch -> Alice",
        r#"MSRP Rr5Ee4Pp3Oo2Rr1T REPORT
To-Path: msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp
From-Path: msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp
Message-ID: Sr9Ep8Ou7Rt6Yq5W
Byte-Range: 1-108/108
Status: 000 200 OK
-------Rr5Ee4Pp3Oo2Rr1T$"#,
    ),
    (
        17,
        0,
        "switch -> Alice",
        r#"MSRP Ff0Rr9Ee8Pp7Oo6R REPORT
To-Path: msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp
From-Path: msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp
Message-ID: okj3kwZ5r7Tb1Nq8
Byte-Range: 1-160/160
Status: 000 428 Private messages not supported
Content-Type: message/cpim

From: <sip:alice@atlanta.example.com>
To: <sip:bob@biloxi.example.com>

Content-Type: text/plain

Recipient does not support private messages
-------Ff0Rr9Ee8Pp7Oo6R$"#,
    ),
];

/// The wire bytes of a text: each line ends CRLF, including the last.
pub(crate) fn wire(text: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(text.len() + 64);
    for line in text.split('\n') {
        v.extend_from_slice(line.as_bytes());
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// The wire bytes of message `index` of example `example`.
pub(crate) fn message(example: u8, index: u8) -> Vec<u8> {
    MESSAGES
        .iter()
        .find(|m| m.0 == example && m.1 == index)
        .map(|m| wire(m.3))
        .unwrap_or_default()
}
