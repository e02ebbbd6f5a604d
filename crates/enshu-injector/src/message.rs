//! Messages to the team (the SOC's mail, a phone call, a vendor report).
//!
//! The planner has already put the team's addresses into the text; the
//! injector records the rendered message as ground truth, which is what the
//! portal shows. Delivering a `mail` message into the range's mailbox over
//! SMTP is not done here (see the crate docs).

use enshu_scenario::model::{Channel, Message};
use serde_json::{Value, json};

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
}
