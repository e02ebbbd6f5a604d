//! Japanese and English UI strings.
//!
//! A closed enum of messages rather than string keys, so a missing
//! translation is a compile error, not a blank on the screen. Scenario
//! texts come with their own `ja`/`en` and are picked by [`Lang::pick`].

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use enshu_scenario::model::Text;

pub const LANG_COOKIE: &str = "enshu-lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "ja" => Some(Lang::Ja),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The language of an `Accept-Language` header: the first `ja` or `en`
    /// tag by quality (then order); English when neither is listed.
    pub fn from_accept_language(header_value: &str) -> Lang {
        let mut best: Option<(f32, usize, Lang)> = None;
        for (position, item) in header_value.split(',').enumerate() {
            let mut parts = item.trim().split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality = parts
                .find_map(|part| {
                    part.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("ja") => Lang::Ja,
                Some("en") => Lang::En,
                _ => continue,
            };
            if best.is_none_or(|(best_quality, _, _)| quality > best_quality) {
                best = Some((quality, position, lang));
            }
        }
        best.map_or(Lang::En, |(_, _, lang)| lang)
    }

    /// A scenario text in this language, else the other one.
    pub fn pick(self, text: &Text) -> &str {
        let (preferred, other) = match self {
            Lang::Ja => (&text.ja, &text.en),
            Lang::En => (&text.en, &text.ja),
        };
        preferred
            .as_deref()
            .filter(|value| !value.is_empty())
            .or(other.as_deref())
            .unwrap_or("")
    }

    pub fn t(self, message: Msg) -> &'static str {
        let (japanese, english) = message.texts();
        match self {
            Lang::Ja => japanese,
            Lang::En => english,
        }
    }
}

/// The language cookie wins; otherwise `Accept-Language`.
impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Lang, Self::Rejection> {
        Ok(Lang::of_request(&parts.headers))
    }
}

impl Lang {
    /// The language cookie, else `Accept-Language`, else English.
    pub(crate) fn of_request(headers: &axum::http::HeaderMap) -> Lang {
        if let Some(lang) =
            crate::auth::cookie(headers, LANG_COOKIE).and_then(|code| Lang::parse(&code))
        {
            return lang;
        }
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|value| value.to_str().ok())
            .map_or(Lang::En, Lang::from_accept_language)
    }
}

/// The label of a report form's choice option. The scenario format names
/// options by identifier (`unauthorised_access`); the options the reference
/// scenarios use have labels here, any other shows as written.
pub fn option_label(lang: Lang, option: &str) -> &str {
    let (japanese, english) = match option {
        "soc_alert" => (
            "監視センター（SOC）からの通知",
            "Alert from the monitoring centre (SOC)",
        ),
        "outside_report" => ("外部からの通報", "Report from outside"),
        "user" => ("職員からの申告", "Reported by a staff member"),
        "malware" => ("マルウェア感染", "Malware infection"),
        "unauthorised_access" => ("不正アクセス", "Unauthorised access"),
        "defacement" => ("Webページの改ざん", "Website defacement"),
        "dos" => ("サービス妨害攻撃", "Denial of service"),
        "loss_leak" => ("紛失・情報漏えい", "Loss or leak of information"),
        "ciso" => ("最高情報セキュリティ責任者", "CISO"),
        "mic" => ("総務省", "Ministry of Internal Affairs and Communications"),
        "police" => ("警察", "Police"),
        "ppc" => (
            "個人情報保護委員会",
            "Personal Information Protection Commission",
        ),
        "prefecture" => ("都道府県", "Prefecture"),
        "vendor" => ("委託事業者（ベンダー）", "Vendor"),
        _ => return option,
    };
    match lang {
        Lang::Ja => japanese,
        Lang::En => english,
    }
}

macro_rules! catalogue {
    ($($name:ident => ($ja:expr, $en:expr),)*) => {
        /// Every UI string.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Msg { $($name,)* }

        impl Msg {
            pub const ALL: &'static [Msg] = &[$(Msg::$name,)*];

            /// (Japanese, English).
            pub fn texts(self) -> (&'static str, &'static str) {
                match self { $(Msg::$name => ($ja, $en),)* }
            }
        }
    };
}

catalogue! {
    AppName => ("演習 スコアボード", "Enshu scoreboard"),
    Login => ("ログイン", "Log in"),
    Logout => ("ログアウト", "Log out"),
    Token => ("アクセストークン", "Access token"),
    LoginFailed => ("トークンが正しくありません", "That token is not valid"),
    TooManyAttempts => ("失敗が多すぎます。1分後に再試行してください", "Too many failed attempts; try again in a minute"),
    Scoreboard => ("スコアボード", "Scoreboard"),
    Team => ("チーム", "Team"),
    Points => ("得点", "Points"),
    PhaseProgress => ("フェーズ進捗", "Phase progress"),
    Detection => ("検知", "Detection"),
    Response => ("対応", "Response"),
    Reporting => ("報告", "Reporting"),
    Recovery => ("復旧", "Recovery"),
    TimeToDetect => ("検知まで", "Time to detect"),
    TimeToContain => ("封じ込めまで", "Time to contain"),
    TimeToReport => ("報告まで", "Time to report"),
    TimeToRecover => ("復旧まで", "Time to recover"),
    Alerts => ("アラート", "Alerts"),
    DeadlineMissed => ("期限超過", "Deadline missed"),
    IdleFor => ("操作なし（分）", "Idle (minutes)"),
    Timeline => ("タイムライン", "Timeline"),
    PhaseComparison => ("フェーズ所要時間の比較（分）", "Phase times compared (minutes)"),
    Objectives => ("目標", "Objectives"),
    Objective => ("目標", "Objective"),
    Status => ("状態", "Status"),
    Deadline => ("期限", "Deadline"),
    Remaining => ("残り", "Remaining"),
    StatusPending => ("未達", "Pending"),
    StatusMet => ("達成", "Met"),
    StatusLate => ("期限後達成", "Met late"),
    StatusMissed => ("未達（期限超過）", "Missed"),
    NotYetFired => ("開始前", "Not started"),
    Messages => ("受信メッセージ", "Messages received"),
    NoMessages => ("メッセージはまだありません", "No messages yet"),
    From => ("差出人", "From"),
    Answer => ("回答", "Answer"),
    Submit => ("送信", "Submit"),
    Correct => ("正解", "Correct"),
    Incorrect => ("不正解", "Incorrect"),
    Reports => ("報告書", "Reports"),
    FillReport => ("報告書を作成", "Fill in the report"),
    ReportReceived => ("報告書を受け付けました", "Report received"),
    Hints => ("ヒント", "Hints"),
    TakeHint => ("ヒントを見る（減点あり）", "Take hint (costs points)"),
    Penalty => ("減点", "Penalty"),
    Yes => ("はい", "Yes"),
    No => ("いいえ", "No"),
    Required => ("必須", "required"),
    InvalidInput => ("入力内容に誤りがあります", "Some fields are not valid"),
    Notes => ("講師メモ", "Instructor notes"),
    AddNote => ("メモを追加", "Add note"),
    Author => ("記入者", "Author"),
    Reason => ("理由", "Reason"),
    Adjustment => ("得点調整", "Score adjustment"),
    Adjust => ("調整する", "Adjust"),
    Review => ("レビュー", "Review"),
    Grade => ("採点する", "Grade"),
    Rubric => ("評価基準", "Rubric"),
    Export => ("エクスポート", "Export"),
    AfterActionReport => ("事後報告書", "After-action report"),
    Print => ("印刷", "Print"),
    Injects => ("インジェクト", "Injects"),
    Events => ("イベント", "Events"),
    Time => ("時刻", "Time"),
    ExerciseTime => ("演習時間", "Exercise time"),
    Submitted => ("提出", "Submitted"),
    Graded => ("採点済み", "Graded"),
    Language => ("English", "日本語"),
    Back => ("戻る", "Back"),
    None => ("なし", "none"),
    Live => ("ライブ更新中", "Live"),
    Total => ("合計", "Total"),
    Completeness => ("記載項目の網羅性", "Completeness"),
    Accuracy => ("事実の正確さ", "Accuracy"),
    Clarity => ("分かりやすさ", "Clarity"),
    Forbidden => ("この操作は許可されていません", "You may not do that"),
    TooFastAnswer => ("回答の送信が速すぎます。{s}秒後にもう一度送信してください", "Too many answers too fast; try again in {s} s"),
    TooFastReport => ("報告書の送信が速すぎます。{s}秒後にもう一度送信してください", "Too many reports too fast; try again in {s} s"),
    TooFastHint => ("ヒントの要求が速すぎます。{s}秒後にもう一度お試しください", "Too many hint requests too fast; try again in {s} s"),
    TooFastFirewall => ("ファイアウォールの変更が速すぎます。{s}秒後にもう一度お試しください", "Too many firewall changes too fast; try again in {s} s"),
    TooFastLogin => ("ログインが多すぎます。{s}秒後にもう一度お試しください", "Too many logins; try again in {s} s"),
    TooFastWayIn => ("接続が多すぎます。{s}秒後にもう一度お試しください", "Too many connections; try again in {s} s"),
    TooFastRead => ("ページの読み込みが多すぎます。{s}秒後にもう一度お試しください", "Too many pages loaded too fast; try again in {s} s"),
    TooManyStreams => ("開いているライブ更新が多すぎます。使っていないタブを閉じてください", "Too many live views open; close the tabs you do not use"),
    SlowBody => ("送信に時間がかかりすぎたため打ち切りました。もう一度送信してください", "The request took too long to arrive and was cut off; please send it again"),
    QuotaReached => ("この種類の送信はこの演習の上限回数に達しました。講師に連絡してください", "Your team has used this exercise's allowance for this kind of request; please tell your instructor"),
    AwaitingGrading => ("提出済み（採点待ち）", "Submitted, awaiting grading"),
    AttemptsLeft => ("残り回答回数", "Answers left"),
    QuestionLocked => ("回答回数の上限に達したため、この設問には回答できません", "This question is locked: no answers are left"),
    QuestionNotOpen => ("この設問はまだ始まっていません", "This question has not started yet"),
    AlreadyAnswered => ("この設問は正解済みです", "This question is already answered correctly"),
    WrongAnswerCost => ("誤答1回の減点", "Each wrong answer costs"),
    ClockNotStarted => ("開始前", "Not started"),
    ClockRunning => ("進行中", "Running"),
    ClockPaused => ("一時停止中", "Paused"),
    ClockStopped => ("終了", "Stopped"),
    ClockSpeed => ("速度", "Speed"),
    ElapsedLabel => ("演習経過", "Exercise time"),
    NowLabel => ("現在時刻", "Now"),
    DeadlineOffset => ("期限（演習経過）", "Deadline (exercise time)"),
    Expired => ("期限切れ", "Past due"),
    NextToDo => ("次にやること", "Next to do"),
    NothingToDo => ("いま期限のある未達成の目標はありません", "No open objective has a deadline right now"),
    HowChecked => ("判定方法", "How it is checked"),
    ReportNumber => ("受付番号", "receipt no."),
    SubmittedAt => ("提出日時", "Submitted at"),
    NextFollowUp => ("次は続報です。原因や影響の範囲など、新たに分かったことを「{f}」で報告してください。", "Next comes the follow-up: report what you learn, such as the cause and the extent, with \u{201c}{f}\u{201d}."),
    FollowUpAgain => ("新たに分かったことがあれば、続報は何度でも提出できます。", "Whenever you learn more, you may send another follow-up."),
    NextFinal => ("対応が完了したら、「{f}」で確報を提出してください。", "Once the incident is dealt with, send the final report with \u{201c}{f}\u{201d}."),
    ReportingDone => ("確報の提出をもって、この事案の報告は完了です。", "With the final report, reporting on this incident is complete."),
    NextReportDue => ("「{f}」の期限", "\u{201c}{f}\u{201d} is due at"),
    WriteNextReport => ("「{f}」を書く", "Fill in \u{201c}{f}\u{201d}"),
    SubmittedFields => ("提出された内容（様式の順）", "As submitted, in the form's order"),
    WhatNext => ("講師が採点します。結果は採点後に目標の表に表示されます。", "An instructor grades it; the result appears in the objectives table once graded."),
    AnswerWasCorrect => ("正解です", "Correct"),
    AnswerWasWrong => ("不正解です。もう一度考えてみましょう", "Not correct; think again"),
    YourAnswer => ("あなたの回答", "Your answer"),
    AnswerRequired => ("回答を入力してください", "Please enter an answer"),
    HintConfirm => ("このヒントを見ると {p} 点減点されます。見ますか？", "This hint costs {p} points. Show it?"),
    HintConfirmYes => ("減点を受け入れてヒントを見る", "Accept the penalty and show the hint"),
    Firewall => ("ファイアウォール（自チームのルータ）", "Firewall (your team's router)"),
    FirewallHelp => ("自チームの範囲にあるIPアドレスとの通信を、ルータで遮断または遮断解除します。", "Blocks or unblocks traffic to and from an address of your range at your router."),
    FirewallAddress => ("IPアドレス", "IP address"),
    FirewallBlock => ("遮断する", "Block"),
    FirewallUnblock => ("遮断を解除する", "Unblock"),
    FirewallBlocked => ("{a} を遮断するよう登録しました。数秒でルータに反映されます。", "{a} is to be blocked; the router applies it within seconds."),
    FirewallUnblocked => ("{a} の遮断を解除するよう登録しました。数秒でルータに反映されます。", "{a} is to be unblocked; the router applies it within seconds."),
    FirewallNotAddress => ("「{a}」はIPv4アドレスではありません（例: 10.1.10.101）", "\"{a}\" is not an IPv4 address (for example 10.1.10.101)"),
    FirewallNotInRange => ("{a} は自チームの範囲のアドレスではありません", "{a} is not an address of your range"),
    FirewallCurrent => ("現在遮断中", "Blocked now"),
    ObjectiveAlerts => ("期限超過の目標", "Objectives past their deadline"),
    TeamBlocked => ("ファイアウォールで {a} を遮断", "blocked {a} at the firewall"),
    TeamUnblocked => ("ファイアウォールで {a} の遮断を解除", "unblocked {a} at the firewall"),
    EventMessage => ("メッセージ受信: {s}", "Message received: {s}"),
    EventAnswerRight => ("「{o}」に回答（正解）", "Answered \"{o}\" (correct)"),
    EventAnswerWrong => ("「{o}」に回答（不正解）", "Answered \"{o}\" (not correct)"),
    EventReport => ("「{f}」を提出（受付番号 {n}）", "Submitted \"{f}\" (receipt no. {n})"),
    EventHint => ("「{o}」のヒントを表示（−{p}点）", "Took a hint for \"{o}\" (−{p} points)"),
    EventGraded => ("「{f}」が採点されました: {p}点", "\"{f}\" was graded: {p} points"),
    EventAdjusted => ("得点調整 {p}点: {r}", "Score adjusted by {p}: {r}"),
    EventReset => ("演習環境がリセットされました", "Your range was reset"),
    EventClockStart => ("演習開始", "The exercise started"),
    EventClockPause => ("演習一時停止", "The exercise was paused"),
    EventClockResume => ("演習再開", "The exercise resumed"),
    EventClockStop => ("演習終了", "The exercise stopped"),
    Rank => ("順位", "Rank"),
    Legend => ("凡例", "Legend"),
    LegendInject => ("インジェクト", "Inject"),
    LegendMet => ("達成", "Met"),
    LegendLate => ("期限後に達成", "Met late"),
    LegendWrong => ("誤答", "Wrong answer"),
    LegendReport => ("報告書の提出", "Report submitted"),
    LegendGraded => ("採点", "Graded"),
    LegendHint => ("ヒント", "Hint"),
    LegendNote => ("メモ・通知", "Note"),
    LegendHeld => ("保留したインジェクト", "Inject held"),
    LegendFirewall => ("ファイアウォールの変更", "Firewall change"),
    LegendTerminal => ("端末コマンド（縦線）", "Terminal command (bar)"),
    LegendAdjustment => ("得点の調整", "Score adjusted"),
    LegendDeadline => ("期限（破線）", "Deadline (dashed)"),
    EventTable => ("タイムラインの出来事（時刻順）", "Timeline events, in time order"),
    Lane => ("区分", "Lane"),
    NextDeadline => ("次の期限", "Next deadline"),
    LastActivity => ("最終操作から", "Since last action"),
    AarResponseTimes => ("インジェクトごとの対応時間", "Response times by inject"),
    AarResponseTimesNote => ("各インジェクトがこのチームに対して実際に発生した時刻から数えた時間です（予定時刻ではありません）。", "Counted from when each inject actually fired for this team (not from its schedule)."),
    AarFromStart => ("演習開始から", "From the exercise start"),
    AarFiredAt => ("発生", "Fired"),
    AarNotFired => ("未発生", "Not fired"),
    AarMeasure => ("項目", "Measure"),
    AarThisTeam => ("このチーム", "This team"),
    AarSessionMedian => ("今回の中央値", "This session's median"),
    AarSessionBest => ("今回の最良", "This session's best"),
    AarPastMedian => ("過去の中央値", "Past cohorts' median"),
    AarPastBest => ("過去の最良", "Past cohorts' best"),
    AarPastPlace => ("過去の受講チームとの比較", "Against past cohorts"),
    AarPlace => ("{n}チーム中{r}位相当", "would rank {r} of {n}"),
    AarNotYet => ("未達成", "Not yet"),
    AarDetect => ("検知までの時間", "Time to detect"),
    AarContain => ("封じ込めまでの時間", "Time to contain"),
    AarReport => ("報告までの時間", "Time to report"),
    AarRecover => ("復旧までの時間", "Time to recover"),
    AarCohorts => ("比較に使った過去の演習: {c}（計{n}チーム）", "Past sessions compared: {c} ({n} teams in all)"),
    AarNoCohorts => ("過去の演習の記録は読み込まれていません。", "No past sessions loaded (enshu serve --cohort reads their exports)."),
    AarSwimlane => ("インジェクトとチームの操作", "Injects against the team's actions"),
    AarSwimlaneSummary => ("インジェクト{i}件、回答{a}件、報告書{r}件、ファイアウォール変更{f}件、ヒント{h}件、端末コマンド{t}件", "{i} injects, {a} answers, {r} reports, {f} firewall changes, {h} hints, {t} terminal commands"),
    Answers => ("回答", "Answers"),
    LaneFirewall => ("ファイアウォール", "Firewall"),
    TerminalCommands => ("端末コマンド", "Terminal commands"),
    AarReportsAndGrades => ("報告書と採点", "Reports and their grades"),
    AarNotGraded => ("未採点", "Not graded yet"),
    AarGradeLine => ("{o}: {p}点（採点者 {a}）", "{o}: {p} points (graded by {a})"),
    AarGradeReplaced => ("（後の採点で置き換え）", "(replaced by a later grade)"),
    AarNoReports => ("提出された報告書はありません。", "No reports were submitted."),
    AarExportTeam => ("JSONで書き出す（このチーム）", "Export as JSON (this team)"),
    AarExportSession => ("JSONで書き出す（全チーム）", "Export as JSON (every team)"),
    MapTitle => ("自チームのネットワーク", "Your team's network"),
    MapSummary => ("ルータと{n}つのセグメント、許可された通信{f}件の図", "The router, {n} segments and {f} permitted flows"),
    MapRouter => ("ルータ（ファイアウォール）", "Router (firewall)"),
    MapRouterAt => ("ルータ", "router"),
    MapEveryHost => ("全ホスト", "every host"),
    MapAnyPort => ("すべて", "any"),
    MapCaption => ("番号付きの矢印は、シナリオで許可された通信です（下の一覧と同じ番号）。", "Numbered arrows are the flows the scenario permits (the same numbers as the list below)."),
    Unread => ("未読", "Unread"),
    UnreadCount => ("（未読 {n}件）", "({n} unread)"),
    MarkRead => ("既読にする", "Mark as read"),
    AarGeneralRubric => ("報告書全般", "The report as a whole"),
    ErrorNotFound => ("ページが見つかりません", "Page not found"),
    ErrorNotFoundText => ("お探しのページは見つかりませんでした。アドレスに誤りがないかご確認ください。", "There is no page at this address. Check the address for mistakes."),
    ErrorBadRequest => ("リクエストを処理できません", "The request could not be handled"),
    ErrorBadRequestText => ("アドレスまたは送信内容の形式が正しくありません。画面のリンクから開き直してください。", "The address, or what was sent, is not in the form expected. Open the page again from a link."),
    ErrorForbidden => ("このページは開けません", "You cannot open this page"),
    ErrorForbiddenText => ("このページを開く権限がないか、フォームの有効期限が切れています。ページを読み込み直してから、もう一度操作してください。", "You may not open this page, or the form has expired. Reload the page and try again."),
    ErrorServer => ("サーバーで問題が発生しました", "Something went wrong on the server"),
    ErrorServerText => ("しばらく待ってから、もう一度お試しください。解決しない場合は講師にお知らせください。", "Wait a moment and try again; if it keeps happening, tell your instructor."),
    ErrorCode => ("エラーコード {c}", "Error code {c}"),
    ErrorGoLogin => ("ログイン画面へ", "Go to the login page"),
    ErrorGoPortal => ("チームのポータルへ戻る", "Back to your team's portal"),
    ErrorGoScoreboard => ("スコアボードへ戻る", "Back to the scoreboard"),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_by_quality() {
        assert_eq!(Lang::from_accept_language("ja,en;q=0.8"), Lang::Ja);
        assert_eq!(Lang::from_accept_language("en-US,ja;q=0.5"), Lang::En);
        assert_eq!(
            Lang::from_accept_language("fr, ja-JP;q=0.9, en;q=0.8"),
            Lang::Ja
        );
        assert_eq!(Lang::from_accept_language("de"), Lang::En);
    }

    #[test]
    fn every_message_has_both_languages() {
        for message in Msg::ALL {
            let (japanese, english) = message.texts();
            assert!(!japanese.is_empty() && !english.is_empty(), "{message:?}");
        }
    }
}
