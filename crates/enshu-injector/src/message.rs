//! Messages to the team (the SOC's mail, a phone call, a vendor report).
//!
//! The planner has already put the team's addresses into the text; the
//! injector records the rendered message as ground truth, which is what the
//! portal shows. A `mail` message of a scenario with a `mail` block is also
//! delivered into the team's mailbox by SMTP ([`deliver`], through
//! [`crate::mail`]); without the block it is shown in the portal only.

use enshu_backend::Backend;
use enshu_scenario::model::{Channel, Message};
use enshu_scenario::plan::TeamPlan;
use serde_json::{Value, json};

use crate::mail::{self, MailError, Outgoing};

/// The rendered message as ground truth.
pub fn render(message: &Message) -> Value {
    let channel = match message.channel {
        Channel::Mail => "mail",
        Channel::Phone => "phone",
        Channel::VendorReport => "vendor_report",
    };
    json!({
        "kind": "message",
        "channel": channel,
        "from": message.from,
        "subject": message.subject,
        "body": message.body,
        "delivered": "portal",
    })
}

/// The message as ground truth, after delivering a `mail` message into
/// the team's mailbox when the scenario has one (`delivered: mailbox`,
/// with the Message-ID and every hop); a failed delivery fails the inject.
pub async fn deliver<B: Backend>(
    backend: &B,
    team: &TeamPlan,
    inject: &str,
    message: &Message,
) -> Result<Value, MailError> {
    let mut truth = render(message);
    let Some(plan) = team
        .mail
        .as_ref()
        .filter(|_| message.channel == Channel::Mail)
    else {
        return Ok(truth);
    };
    let outgoing = soc_mail(&team.name, inject, &plan.soc_address, message);
    let delivery = mail::deliver(backend, plan, &plan.soc_sender, &outgoing).await?;
    truth["delivered"] = json!("mailbox");
    truth["mail"] = delivery.to_json();
    Ok(truth)
}

/// The SOC's mail: From its name (Japanese if given) and address, the
/// subject in Japanese (else English), the body in both languages given.
pub fn soc_mail(team: &str, inject: &str, soc_address: &str, message: &Message) -> Outgoing {
    let domain = soc_address
        .rsplit_once('@')
        .map_or("", |(_, domain)| domain);
    let body = match (message.body.ja.as_deref(), message.body.en.as_deref()) {
        (Some(ja), Some(en)) if !ja.is_empty() && !en.is_empty() => {
            format!("{ja}\n\n---- English ----\n{en}\n")
        }
        _ => format!("{}\n", message.body.japanese_or_any()),
    };
    Outgoing {
        envelope_from: soc_address.to_string(),
        from_name: message.from.japanese_or_any().to_string(),
        from_address: soc_address.to_string(),
        subject: message.subject.japanese_or_any().to_string(),
        body,
        message_id: mail::message_id(team, inject, domain),
        attachment: None,
    }
}

#[cfg(test)]
mod tests {
    use enshu_scenario::model::Text;

    use super::*;

    #[test]
    fn a_message_is_recorded_as_rendered() {
        let message = Message {
            channel: Channel::Mail,
            from: Text {
                ja: None,
                en: Some("SOC".into()),
            },
            subject: Text {
                ja: None,
                en: Some("Suspicious traffic".into()),
            },
            body: Text {
                ja: Some("10.64.100.23 への通信".into()),
                en: None,
            },
        };
        let truth = render(&message);
        assert_eq!(truth["channel"], "mail");
        assert_eq!(truth["from"]["en"], "SOC");
        assert_eq!(truth["body"]["ja"], "10.64.100.23 への通信");
    }

    #[test]
    fn the_soc_mail_is_japanese_first_with_the_english_below() {
        let message = Message {
            channel: Channel::Mail,
            from: Text {
                ja: Some("セキュリティ監視センター".into()),
                en: Some("SOC".into()),
            },
            subject: Text {
                ja: Some("不審な通信の検知".into()),
                en: Some("Suspicious traffic".into()),
            },
            body: Text {
                ja: Some("調査してください。".into()),
                en: Some("Please investigate.".into()),
            },
        };
        let outgoing = soc_mail("t01", "soc-alert", "soc@city.saida.lg.jp", &message);
        assert_eq!(outgoing.from_name, "セキュリティ監視センター");
        assert_eq!(outgoing.envelope_from, "soc@city.saida.lg.jp");
        assert_eq!(outgoing.subject, "不審な通信の検知");
        assert_eq!(
            outgoing.body,
            "調査してください。\n\n---- English ----\nPlease investigate.\n"
        );
        assert!(outgoing.message_id.ends_with("@city.saida.lg.jp>"));
    }
}
