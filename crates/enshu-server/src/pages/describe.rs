//! Sentences the pages show in the reader's language: how an objective is
//! checked, what a report is called, and each event of a team's own
//! timeline. Identifiers of the scenario (objective and form ids, choice
//! options) never reach a page as such: their titles and labels do.
//!
//! How an objective is checked is said without its target or peer, which
//! would give away what the team's answers are for (the infected PC, the
//! C2 server).

use enshu_scenario::Scenario;
use enshu_scenario::model::{CheckKind, Evidence, Objective};
use enshu_store::{ClockAction, Event, EventKind};

use crate::exercise;
use crate::i18n::{Lang, Msg};

/// One line: how `objective` is judged met.
pub(crate) fn how_checked(lang: Lang, scenario: &Scenario, objective: &Objective) -> String {
    let (japanese, english): (String, String) = match &objective.evidence {
        Evidence::Answer(_) => (
            "設問に回答し、正解なら達成です（回答回数に上限があります）".to_owned(),
            "Answer the question; a correct answer meets it (answers are limited)".to_owned(),
        ),
        Evidence::Report(report) => {
            let title = exercise::form(scenario, &report.form)
                .map_or(report.form.clone(), |form| {
                    lang.pick(&form.title).to_owned()
                });
            (
                format!("報告書「{title}」を期限内に提出すると判定されます"),
                format!("Judged from the report \"{title}\" submitted by the deadline"),
            )
        }
        Evidence::Judged(_) => (
            "講師が評価基準に沿って採点します".to_owned(),
            "An instructor grades it against a rubric".to_owned(),
        ),
        Evidence::Check(check) => {
            let (japanese, english) = check_kind(check.kind);
            (
                format!("自動判定（数十秒ごと）: {japanese}"),
                format!("Checked automatically (every few tens of seconds): {english}"),
            )
        }
    };
    match lang {
        Lang::Ja => japanese,
        Lang::En => english,
    }
}

fn check_kind(kind: CheckKind) -> (&'static str, &'static str) {
    match kind {
        CheckKind::Http => (
            "対象のWebページが正しい内容で応答すること",
            "the web page answers with its proper content",
        ),
        CheckKind::PortOpen => (
            "対象のサービスに接続できること",
            "the service can be reached",
        ),
        CheckKind::PortClosed => (
            "対象のポートに接続できなくなっていること",
            "the port can no longer be reached",
        ),
        CheckKind::FilePresent => (
            "必要なファイルが存在すること",
            "the file that should be there is there",
        ),
        CheckKind::FileAbsent => (
            "不審なファイルが削除されていること",
            "the suspicious file is gone",
        ),
        CheckKind::FileHash => (
            "ファイルが元の内容に戻っていること",
            "the file has its original content again",
        ),
        CheckKind::ProcessAbsent => (
            "不審なプロセスが動いていないこと",
            "the suspicious process no longer runs",
        ),
        CheckKind::NoBeacon => (
            "端末を稼働させたまま、外部への不審な定期通信が一定時間途絶えていること",
            "the suspicious periodic traffic has stopped for a while, with the PC still running",
        ),
        CheckKind::AccountDisabled => (
            "対象のアカウントが無効化されていること",
            "the account is disabled",
        ),
        CheckKind::PasswordChanged => (
            "対象のアカウントのパスワードが変更されていること",
            "the account's password was changed",
        ),
        CheckKind::NotInGroup => (
            "対象のアカウントがグループから外されていること",
            "the account is no longer in the group",
        ),
        CheckKind::Restored => (
            "データがバックアップどおりに復元されていること",
            "the data is restored as in the backup",
        ),
        CheckKind::Command => (
            "対象の状態を確認するコマンドが成功すること",
            "a command that looks at the host succeeds",
        ),
    }
}

/// A form's title in `lang`, else its id.
pub(crate) fn form_title<'a>(lang: Lang, scenario: &'a Scenario, form_id: &'a str) -> &'a str {
    exercise::form(scenario, form_id).map_or(form_id, |form| lang.pick(&form.title))
}

/// An objective's title in `lang`, else its id.
pub(crate) fn objective_title<'a>(
    lang: Lang,
    scenario: &'a Scenario,
    objective_id: &'a str,
) -> &'a str {
    exercise::objective(scenario, objective_id)
        .map_or(objective_id, |objective| lang.pick(&objective.title))
}

/// `第一報（受付番号 50）` / `First report (receipt no. 50)`.
pub(crate) fn report_name(lang: Lang, scenario: &Scenario, form_id: &str, seq: u64) -> String {
    let title = form_title(lang, scenario, form_id);
    match lang {
        Lang::Ja => format!("{title}（{} {seq}）", lang.t(Msg::ReportNumber)),
        Lang::En => format!("{title} ({} {seq})", lang.t(Msg::ReportNumber)),
    }
}

/// One event of the team's own timeline as a sentence (unescaped), or
/// `None` for what the team does not see (`exercise::visible_to_team`
/// decides that first).
pub(crate) fn team_event(
    lang: Lang,
    scenario: &Scenario,
    team_plan: &enshu_scenario::plan::TeamPlan,
    event: &Event,
) -> Option<String> {
    let text = match &event.kind {
        EventKind::InjectFired { inject, .. } => {
            let message = exercise::planned_message(team_plan, inject)?;
            lang.t(Msg::EventMessage)
                .replace("{s}", lang.pick(&message.subject))
        }
        EventKind::Submission {
            objective, correct, ..
        } => lang
            .t(if *correct {
                Msg::EventAnswerRight
            } else {
                Msg::EventAnswerWrong
            })
            .replace("{o}", objective_title(lang, scenario, objective)),
        EventKind::ReportSubmitted { form, .. } => lang
            .t(Msg::EventReport)
            .replace("{f}", form_title(lang, scenario, form))
            .replace("{n}", &event.seq.to_string()),
        EventKind::HintTaken {
            objective, penalty, ..
        } => lang
            .t(Msg::EventHint)
            .replace("{o}", objective_title(lang, scenario, objective))
            .replace("{p}", &penalty.to_string()),
        EventKind::ReportGraded { form, points, .. } => lang
            .t(Msg::EventGraded)
            .replace("{f}", form_title(lang, scenario, form))
            .replace("{p}", &points.to_string()),
        EventKind::Adjustment { points, reason, .. } => lang
            .t(Msg::EventAdjusted)
            .replace("{p}", &format!("{points:+}"))
            .replace("{r}", reason),
        EventKind::FirewallChanged { block, address } => lang
            .t(if *block {
                Msg::TeamBlocked
            } else {
                Msg::TeamUnblocked
            })
            .replace("{a}", address),
        EventKind::TeamReset { .. } => lang.t(Msg::EventReset).to_owned(),
        EventKind::TerminalCommand { host, command, .. } => match lang {
            Lang::Ja => format!("{host} の端末でコマンドを実行: {command}"),
            Lang::En => format!("Ran in the terminal on {host}: {command}"),
        },
        EventKind::ClockChanged { action, .. } => lang
            .t(match action {
                ClockAction::Start => Msg::EventClockStart,
                ClockAction::Pause => Msg::EventClockPause,
                ClockAction::Resume => Msg::EventClockResume,
                ClockAction::Stop => Msg::EventClockStop,
            })
            .to_owned(),
        EventKind::InjectFailed { .. }
        | EventKind::InjectHeld { .. }
        | EventKind::CheckResult { .. }
        | EventKind::InstructorNote { .. }
        | EventKind::MessagesRead { .. }
        | EventKind::InjectFireRequested { .. } => return None,
    };
    Some(text)
}

/// An instructor note in `lang`: the engine's own notes (written in
/// English in the log) are said in Japanese with their detail kept; an
/// instructor's text is shown as written.
pub(crate) fn note(lang: Lang, text: &str) -> String {
    if lang == Lang::En {
        return text.to_owned();
    }
    if let Some(rest) = text.strip_prefix("isolation: the host guard was missing or changed") {
        let detail = rest
            .split_once("repaired (")
            .map_or("", |(_, detail)| detail);
        let detail = detail.split_once(");").map_or(detail, |(detail, _)| detail);
        return format!(
            "隔離: ホストガードが演習中に欠けていたか変更されていたため修復しました（{detail}）。それまでの間、演習コンテナがこのマシンに届いた可能性があります"
        );
    }
    if let Some(rest) =
        text.strip_prefix("isolation: the host guard is not in place and could not be repaired: ")
    {
        return format!(
            "隔離: ホストガードがなく、修復もできませんでした（{}）。演習コンテナがこのマシンに届く可能性があります。演習を停止してください",
            rest.split_once("; range containers")
                .map_or(rest, |(detail, _)| detail)
        );
    }
    if let Some(rest) = text.strip_prefix("inject ")
        && let Some((inject, rest)) = rest.split_once(" failed ")
        && let Some((times, error)) = rest.split_once(" times and was held: ")
    {
        return format!("インジェクト {inject} は{times}回失敗したため保留されました（{error}）");
    }
    if let Some(rest) = text.strip_prefix("the fire of ")
        && let Some((injects, _)) = rest.split_once(" started before the team's reset")
    {
        return format!(
            "{injects} の実行はリセット前に始まりリセット後に終わったため数えません。再構築した環境で改めて実行します"
        );
    }
    if let Some(rest) = text.strip_prefix("replay of inject ")
        && let Some((inject, rest)) = rest.split_once(" finished: ")
        && let Some((sent, rest)) = rest.split_once(" frames sent, ")
        && let Some((refused, _)) = rest.split_once(" refused by the egress guard")
    {
        return format!(
            "インジェクト {inject} のパケット再生が終了しました（送信 {sent} フレーム、送信ガードが拒否 {refused} フレーム）"
        );
    }
    if let Some(rest) = text.strip_prefix("replay of inject ")
        && let Some((inject, error)) = rest.split_once(" failed: ")
    {
        return format!("インジェクト {inject} のパケット再生に失敗しました（{error}）");
    }
    text.to_owned()
}

/// Who wrote an event, as a reader names them: an instructor by name, the
/// engine and the injector as such.
pub(crate) fn actor(lang: Lang, actor: &str) -> String {
    let ja = lang == Lang::Ja;
    if let Some(name) = actor.strip_prefix("instructor:") {
        return name.to_owned();
    }
    match actor {
        "instructor" => if ja { "講師" } else { "instructor" }.to_owned(),
        "engine" | "injector" | "checker" => if ja {
            "演習エンジン"
        } else {
            "exercise engine"
        }
        .to_owned(),
        other => match other.strip_prefix("team:") {
            Some(team) => {
                if ja {
                    format!("チーム{team}")
                } else {
                    format!("team {team}")
                }
            }
            None => other.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_notes_are_said_in_japanese_with_their_detail() {
        assert_eq!(
            note(
                Lang::Ja,
                "inject deface failed 3 times and was held: exit 1: no such file"
            ),
            "インジェクト deface は3回失敗したため保留されました（exit 1: no such file）"
        );
        assert_eq!(
            note(
                Lang::Ja,
                "replay of inject scan finished: 120 frames sent, 0 refused by the egress guard"
            ),
            "インジェクト scan のパケット再生が終了しました（送信 120 フレーム、送信ガードが拒否 0 フレーム）"
        );
        assert!(
            note(Lang::Ja, "isolation: the host guard was missing or changed during the exercise and was repaired (1 change(s): INPUT); until then range containers could have reached this machine")
                .starts_with("隔離: ホストガード")
        );
        assert_eq!(note(Lang::Ja, "プロキシを確認中"), "プロキシを確認中");
        assert_eq!(note(Lang::En, "as written"), "as written");
        assert_eq!(actor(Lang::Ja, "instructor:佐藤"), "佐藤");
        assert_eq!(actor(Lang::Ja, "team:3"), "チーム3");
    }
}
