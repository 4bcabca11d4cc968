//! The email outbox delivered over SMTP to a small SMTP server in the test: what the mailer
//! says to it, with the sender the owner set on the settings page or the server's own.

use std::sync::{Arc, Mutex};

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::checkout::{checkout, order_body, variant_with_stock};
use crate::helpers::{spawn_app, Backend};
use crate::on_both_databases;

on_both_databases!(emails_come_from_the_sender_the_owner_set);

/// An SMTP server that accepts every message and keeps each one's conversation.
pub async fn smtp_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sessions = Arc::new(Mutex::new(Vec::new()));
    let kept = sessions.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let mut said = String::new();
                let mut in_data = false;
                write.write_all(b"220 test ESMTP\r\n").await.ok();
                while let Ok(Some(line)) = lines.next_line().await {
                    said.push_str(&line);
                    said.push('\n');
                    let reply: &[u8] = if in_data {
                        if line != "." {
                            continue;
                        }
                        in_data = false;
                        b"250 queued\r\n"
                    } else if line.starts_with("EHLO") || line.starts_with("HELO") {
                        b"250 test\r\n"
                    } else if line == "DATA" {
                        in_data = true;
                        b"354 go on\r\n"
                    } else if line == "QUIT" {
                        write.write_all(b"221 bye\r\n").await.ok();
                        break;
                    } else {
                        b"250 ok\r\n"
                    };
                    write.write_all(reply).await.ok();
                }
                kept.lock().unwrap().push(said);
            });
        }
    });
    (port, sessions)
}

async fn emails_come_from_the_sender_the_owner_set(backend: Backend) {
    let app = spawn_app(backend).await;
    let (variant, _) = variant_with_stock(&app, 0, 5).await;
    let (status, placed) = checkout(
        &app,
        &order_body(&[(variant, 1)], "pm_card_visa"),
        "mail-test-1",
    )
    .await;
    assert_eq!(status, 201, "{placed}");
    let (port, sessions) = smtp_server().await;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .build();
    let default: Mailbox = "Kassa <shop@localhost>".parse().unwrap();

    // No sender set: the server's own.
    let sent = kassa::mailer::send_due(&app.db, &transport, &default)
        .await
        .unwrap();
    assert!(sent >= 1, "the order's confirmation went out");
    let said = sessions.lock().unwrap().concat();
    assert!(said.contains("MAIL FROM:<shop@localhost>"), "{said}");
    assert!(said.contains("erika@example.com"), "{said}");

    // A bare address set by the owner carries the shop's name.
    sqlx::query(
        "UPDATE shop_settings SET shop_name = 'Fjord and Fell', email_from = 'hi@fjord.example'",
    )
    .execute(app.db.pool())
    .await
    .unwrap();
    let (status, _) = checkout(
        &app,
        &order_body(&[(variant, 1)], "pm_card_visa"),
        "mail-test-2",
    )
    .await;
    assert_eq!(status, 201);
    sessions.lock().unwrap().clear();
    assert!(
        kassa::mailer::send_due(&app.db, &transport, &default)
            .await
            .unwrap()
            >= 1
    );
    let said = sessions.lock().unwrap().concat();
    assert!(said.contains("MAIL FROM:<hi@fjord.example>"), "{said}");
    let from = said
        .lines()
        .find(|l| l.starts_with("From:"))
        .unwrap_or_default();
    assert!(
        from.contains("Fjord and Fell") && from.contains("<hi@fjord.example>"),
        "{said}"
    );
}
