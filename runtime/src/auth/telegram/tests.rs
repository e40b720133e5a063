use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;

const TOKEN: &str = "1234567890:AAE-exws-unit-test-token-not-real";
const AUTH_DATE: u64 = 1_700_000_000;
const USER: &str = r#"{"id":279058397,"is_bot":false,"first_name":"Vladislav","last_name":"Kibenko","username":"vdkfrost","language_code":"ru","is_premium":true,"added_to_attachment_menu":true,"allows_write_to_pm":true,"photo_url":"https://t.me/i/userpic/320/x.svg","some_future_field":[1,2]}"#;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn auth() -> TelegramAuth {
    TelegramAuth::new(TOKEN)
}

fn basic_pairs() -> Vec<(&'static str, &'static str)> {
    vec![
        ("query_id", "AAHdF6IQAAAAAN0XohDhrOrc"),
        ("user", USER),
        ("auth_date", "1700000000"),
    ]
}

fn signed(pairs: &[(&str, &str)]) -> String {
    sign_init_data(TOKEN, pairs)
}

fn validate(init_data: &str) -> Result<InitData, TelegramAuthError> {
    auth().validate_at(init_data, at(AUTH_DATE + 10))
}

/// Replaces the value of `key` in a URL-encoded init data, leaving the rest as is.
fn with_raw(init_data: &str, key: &str, raw_value: &str) -> String {
    init_data
        .split('&')
        .map(|segment| match segment.split_once('=') {
            Some((k, _)) if k == key => format!("{k}={raw_value}"),
            _ => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn without(init_data: &str, key: &str) -> String {
    init_data
        .split('&')
        .filter(|segment| segment.split_once('=').map(|(k, _)| k) != Some(key))
        .collect::<Vec<_>>()
        .join("&")
}

fn raw_hash(init_data: &str) -> String {
    let (_, hash) = init_data.rsplit_once("&hash=").unwrap();
    hash.to_owned()
}

#[test]
fn valid_init_data_validates_with_every_field() {
    let receiver = r#"{"id":-5,"is_bot":true,"first_name":"Helper Bot","username":"helper_bot"}"#;
    let chat = r#"{"id":-1001234567890,"type":"supergroup","title":"Rust & Friends","username":"rustfriends","photo_url":"https://t.me/i/c.jpg"}"#;
    let init_data = signed(&[
        ("query_id", "AAHdF6IQAAAAAN0XohDhrOrc"),
        ("user", USER),
        ("receiver", receiver),
        ("chat", chat),
        ("chat_type", "supergroup"),
        ("chat_instance", "-7068453291187540571"),
        ("start_param", "ref_42"),
        ("can_send_after", "30"),
        ("auth_date", "1700000000"),
        ("signature", "sig-value"),
    ]);
    let data = validate(&init_data).unwrap();

    assert_eq!(
        data.user,
        Some(WebAppUser {
            id: 279058397,
            is_bot: Some(false),
            first_name: "Vladislav".into(),
            last_name: Some("Kibenko".into()),
            username: Some("vdkfrost".into()),
            language_code: Some("ru".into()),
            is_premium: Some(true),
            added_to_attachment_menu: Some(true),
            allows_write_to_pm: Some(true),
            photo_url: Some("https://t.me/i/userpic/320/x.svg".into()),
        })
    );
    let receiver = data.receiver.as_ref().unwrap();
    assert_eq!((receiver.id, receiver.is_bot), (-5, Some(true)));
    assert_eq!(receiver.last_name, None);
    assert_eq!(
        data.chat,
        Some(WebAppChat {
            id: -1001234567890,
            chat_type: "supergroup".into(),
            title: "Rust & Friends".into(),
            username: Some("rustfriends".into()),
            photo_url: Some("https://t.me/i/c.jpg".into()),
        })
    );
    assert_eq!(data.query_id.as_deref(), Some("AAHdF6IQAAAAAN0XohDhrOrc"));
    assert_eq!(data.chat_type.as_deref(), Some("supergroup"));
    assert_eq!(data.chat_instance.as_deref(), Some("-7068453291187540571"));
    assert_eq!(data.start_param.as_deref(), Some("ref_42"));
    assert_eq!(data.can_send_after, Some(30));
    assert_eq!(data.auth_date, AUTH_DATE);
    assert_eq!(data.auth_time(), at(AUTH_DATE));
    assert_eq!(data.signature.as_deref(), Some("sig-value"));
    assert_eq!(data.hash, raw_hash(&init_data));

    // The serde form round-trips, with Telegram's field names.
    let json = serde_json::to_string(&data).unwrap();
    assert!(json.contains(r#""type":"supergroup""#), "{json}");
    assert_eq!(serde_json::from_str::<InitData>(&json).unwrap(), data);
}

#[test]
fn minimal_init_data_has_only_auth_date_and_hash() {
    let data = validate(&signed(&[("auth_date", "1700000000")])).unwrap();
    assert_eq!(data.auth_date, AUTH_DATE);
    assert_eq!(data.user, None);
    assert_eq!(data.signature, None);
}

#[test]
fn validate_uses_the_current_time() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let init_data = signed(&[("auth_date", &now), ("user", USER)]);
    assert_eq!(
        auth().validate(&init_data).unwrap().user.unwrap().id,
        279058397
    );
    let stale = signed(&basic_pairs());
    assert!(matches!(
        auth().validate(&stale),
        Err(TelegramAuthError::Expired { .. })
    ));
}

/// A vector computed independently of this module, once, with Python's `hmac` and
/// `hashlib`:
///
/// ```text
/// python3 - <<'EOF'
/// import hashlib, hmac, urllib.parse
/// token = "1234567890:AAE-exws-known-vector-not-a-real-token"
/// fields = [
///     ("query_id", "AAHdF6IQAAAAAN0XohDhrOrc"),
///     ("user", '{"id":279058397,"first_name":"Vladislav","last_name":"Kibenko","username":"vdkfrost","language_code":"ru","is_premium":true,"allows_write_to_pm":true,"photo_url":"https://t.me/i/userpic/320/x.svg"}'),
///     ("chat_instance", "-7068453291187540571"),
///     ("chat_type", "sender"),
///     ("start_param", "a b+c&d=é"),
///     ("auth_date", "1700000000"),
///     ("signature", "6fbdaab833d39f54518bd5c3eb3f511d035e68cb6b9b9f5b0b6b2c9b4d0e8f1a"),
/// ]
/// dcs = "\n".join(f"{k}={v}" for k, v in sorted(fields))
/// secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
/// h = hmac.new(secret, dcs.encode(), hashlib.sha256).hexdigest()
/// print(h)
/// print(urllib.parse.urlencode(fields + [("hash", h)], quote_via=urllib.parse.quote))
/// EOF
/// ```
#[test]
fn known_vector_from_python() {
    const VECTOR_TOKEN: &str = "1234567890:AAE-exws-known-vector-not-a-real-token";
    const VECTOR_HASH: &str = "d8ce26d2d97eac9b3c40c2a39818f3792ba8ae8b06e1d7faad57829ffcc5e933";
    const VECTOR: &str = "query_id=AAHdF6IQAAAAAN0XohDhrOrc&user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Vladislav%22%2C%22last_name%22%3A%22Kibenko%22%2C%22username%22%3A%22vdkfrost%22%2C%22language_code%22%3A%22ru%22%2C%22is_premium%22%3Atrue%2C%22allows_write_to_pm%22%3Atrue%2C%22photo_url%22%3A%22https%3A%2F%2Ft.me%2Fi%2Fuserpic%2F320%2Fx.svg%22%7D&chat_instance=-7068453291187540571&chat_type=sender&start_param=a%20b%2Bc%26d%3D%C3%A9&auth_date=1700000000&signature=6fbdaab833d39f54518bd5c3eb3f511d035e68cb6b9b9f5b0b6b2c9b4d0e8f1a&hash=d8ce26d2d97eac9b3c40c2a39818f3792ba8ae8b06e1d7faad57829ffcc5e933";

    let data = TelegramAuth::new(VECTOR_TOKEN)
        .validate_at(VECTOR, at(AUTH_DATE))
        .unwrap();
    assert_eq!(data.hash, VECTOR_HASH);
    assert_eq!(data.start_param.as_deref(), Some("a b+c&d=é"));
    assert_eq!(data.chat_type.as_deref(), Some("sender"));
    let user = data.user.unwrap();
    assert_eq!(
        (user.id, user.username.as_deref()),
        (279058397, Some("vdkfrost"))
    );
    assert_eq!(user.is_premium, Some(true));
    assert_eq!(user.added_to_attachment_menu, None);

    // The helper computes the same hash as Python.
    let pairs = [
        ("query_id", "AAHdF6IQAAAAAN0XohDhrOrc"),
        (
            "user",
            r#"{"id":279058397,"first_name":"Vladislav","last_name":"Kibenko","username":"vdkfrost","language_code":"ru","is_premium":true,"allows_write_to_pm":true,"photo_url":"https://t.me/i/userpic/320/x.svg"}"#,
        ),
        ("chat_instance", "-7068453291187540571"),
        ("chat_type", "sender"),
        ("start_param", "a b+c&d=é"),
        ("auth_date", "1700000000"),
        (
            "signature",
            "6fbdaab833d39f54518bd5c3eb3f511d035e68cb6b9b9f5b0b6b2c9b4d0e8f1a",
        ),
    ];
    assert_eq!(raw_hash(&sign_init_data(VECTOR_TOKEN, &pairs)), VECTOR_HASH);

    // And the vector does not validate for any other token.
    assert_eq!(
        auth().validate_at(VECTOR, at(AUTH_DATE)),
        Err(TelegramAuthError::BadHash)
    );
}

#[test]
fn tampered_value_is_bad_hash() {
    let init_data = signed(&basic_pairs());
    let tampered = init_data.replace("279058397", "279058398");
    assert_ne!(tampered, init_data);
    assert_eq!(validate(&tampered), Err(TelegramAuthError::BadHash));

    let tampered = with_raw(&init_data, "auth_date", "1700000001");
    assert_eq!(validate(&tampered), Err(TelegramAuthError::BadHash));

    // Adding or removing a field is tampering too.
    let added = format!("{init_data}&start_param=x");
    assert_eq!(validate(&added), Err(TelegramAuthError::BadHash));
    let removed = without(&init_data, "query_id");
    assert_eq!(validate(&removed), Err(TelegramAuthError::BadHash));
}

#[test]
fn tampered_or_malformed_hash_is_refused_without_panic() {
    let init_data = signed(&basic_pairs());
    let hash = raw_hash(&init_data);

    let mut flipped = hash.clone().into_bytes();
    flipped[63] = if flipped[63] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap();
    assert_eq!(
        validate(&with_raw(&init_data, "hash", &flipped)),
        Err(TelegramAuthError::BadHash)
    );

    // Uppercase hex is the same bytes.
    assert!(validate(&with_raw(&init_data, "hash", &hash.to_uppercase())).is_ok());

    let malformed = [
        String::new(),
        "zz".repeat(32),
        hash[..62].to_owned(),
        hash[..63].to_owned(),
        format!("{hash}00"),
        format!("{hash}0"),
        hash.repeat(100),
        format!("{}%C3%A9%C3%A9", &hash[..60]),
        format!("{}%00%00", &hash[..62]),
        "%FF".repeat(64),
    ];
    for bad in malformed {
        assert_eq!(
            validate(&with_raw(&init_data, "hash", &bad)),
            Err(TelegramAuthError::MalformedHash),
            "hash {bad:?}"
        );
    }
}

#[test]
fn wrong_bot_token_is_bad_hash() {
    let init_data = signed(&basic_pairs());
    let other = TelegramAuth::new("1234567890:AAE-exws-unit-test-token-not-reaL");
    assert_eq!(
        other.validate_at(&init_data, at(AUTH_DATE)),
        Err(TelegramAuthError::BadHash)
    );
    // Whitespace around the configured token is ignored.
    let padded = TelegramAuth::new(format!("  {TOKEN}\n"));
    assert!(padded.validate_at(&init_data, at(AUTH_DATE)).is_ok());
}

#[test]
fn stale_auth_date_is_expired() {
    let init_data = signed(&basic_pairs());
    let day = DEFAULT_MAX_AGE.as_secs();
    assert!(auth().validate_at(&init_data, at(AUTH_DATE + day)).is_ok());
    assert_eq!(
        auth().validate_at(&init_data, at(AUTH_DATE + day + 1)),
        Err(TelegramAuthError::Expired {
            age: Duration::from_secs(day + 1),
            max_age: DEFAULT_MAX_AGE,
        })
    );

    let strict = auth().max_age(Duration::from_secs(300));
    assert!(strict.validate_at(&init_data, at(AUTH_DATE + 300)).is_ok());
    let err = strict
        .validate_at(&init_data, at(AUTH_DATE + 301))
        .unwrap_err();
    assert_eq!(
        err,
        TelegramAuthError::Expired {
            age: Duration::from_secs(301),
            max_age: Duration::from_secs(300),
        }
    );
    assert!(err.to_string().contains("301 s ago"), "{err}");
    // Sub-second precision: 300.5 s old is too old for a 300 s limit.
    assert!(matches!(
        strict.validate_at(&init_data, at(AUTH_DATE + 300) + Duration::from_millis(500)),
        Err(TelegramAuthError::Expired { .. })
    ));

    // Even the largest max age neither overflows nor refuses.
    let lax = auth().max_age(Duration::MAX).clock_skew(Duration::MAX);
    assert!(lax.validate_at(&init_data, at(AUTH_DATE * 1000)).is_ok());
    assert!(lax.validate_at(&init_data, UNIX_EPOCH).is_ok());
}

#[test]
fn future_auth_date_is_refused_beyond_clock_skew() {
    let init_data = signed(&basic_pairs());
    assert!(auth().validate_at(&init_data, at(AUTH_DATE - 60)).is_ok());
    assert_eq!(
        auth().validate_at(&init_data, at(AUTH_DATE - 61)),
        Err(TelegramAuthError::FromFuture {
            ahead: Duration::from_secs(61),
            clock_skew: DEFAULT_CLOCK_SKEW,
        })
    );
    let strict = auth().clock_skew(Duration::ZERO);
    assert!(strict.validate_at(&init_data, at(AUTH_DATE)).is_ok());
    assert!(matches!(
        strict.validate_at(&init_data, at(AUTH_DATE - 1)),
        Err(TelegramAuthError::FromFuture { .. })
    ));
    // A clock before 1970 cannot accept anything.
    let before_epoch = UNIX_EPOCH - Duration::from_secs(10);
    assert!(matches!(
        auth().validate_at(&init_data, before_epoch),
        Err(TelegramAuthError::FromFuture { .. })
    ));
    // A far-future auth_date does not overflow.
    let far = signed(&[("auth_date", &u64::MAX.to_string())]);
    assert!(matches!(
        auth().validate_at(&far, at(AUTH_DATE)),
        Err(TelegramAuthError::FromFuture { .. })
    ));
}

#[test]
fn missing_init_data_hash_or_auth_date() {
    for empty in ["", "   ", "\n", "&&"] {
        let expected = if empty == "&&" {
            TelegramAuthError::MissingHash
        } else {
            TelegramAuthError::Missing
        };
        assert_eq!(validate(empty), Err(expected), "{empty:?}");
    }

    let init_data = signed(&basic_pairs());
    assert_eq!(
        validate(&without(&init_data, "hash")),
        Err(TelegramAuthError::MissingHash)
    );

    // Correctly signed, but without auth_date.
    let no_date = signed(&[("user", USER)]);
    assert_eq!(validate(&no_date), Err(TelegramAuthError::MissingAuthDate));
    // Unsigned and without auth_date: the hash is checked first.
    assert_eq!(
        validate(&without(&init_data, "auth_date")),
        Err(TelegramAuthError::BadHash)
    );
}

#[test]
fn duplicate_keys_are_refused() {
    let init_data = signed(&basic_pairs());
    let duplicated = format!("auth_date=1700000000&{init_data}");
    assert_eq!(
        validate(&duplicated),
        Err(TelegramAuthError::DuplicateKey {
            key: "auth_date".into()
        })
    );
    let two_hashes = format!("{init_data}&hash={}", raw_hash(&init_data));
    assert_eq!(
        validate(&two_hashes),
        Err(TelegramAuthError::DuplicateKey { key: "hash".into() })
    );
    // Keys are compared after URL-decoding.
    let encoded_key = format!("{init_data}&auth%5Fdate=1");
    assert_eq!(
        validate(&encoded_key),
        Err(TelegramAuthError::DuplicateKey {
            key: "auth_date".into()
        })
    );
    // Even when signed that way.
    let signed_twice = signed(&[("auth_date", "1700000000"), ("auth_date", "1700000000")]);
    assert!(matches!(
        validate(&signed_twice),
        Err(TelegramAuthError::DuplicateKey { .. })
    ));
}

#[test]
fn malformed_query_strings_are_refused() {
    let init_data = signed(&basic_pairs());
    for bad in [
        format!("{init_data}&novalue"),
        format!("=x&{init_data}"),
        "hash".to_owned(),
    ] {
        assert!(
            matches!(validate(&bad), Err(TelegramAuthError::Malformed(_))),
            "{bad:?}"
        );
    }
    let huge = format!("{init_data}&pad={}", "a".repeat(MAX_INIT_DATA_LEN));
    assert!(matches!(
        validate(&huge),
        Err(TelegramAuthError::Malformed(_))
    ));
    // Stray `&` are tolerated, as browsers' URLSearchParams does.
    assert!(validate(&format!("&{}&", init_data.replace('&', "&&"))).is_ok());
}

#[test]
fn special_characters_survive_encoding() {
    let tricky = "a&b=c+d e%20f é 日本 🎉 \"quoted\" \\ / ? # ;";
    let user = r#"{"id":1,"first_name":"Zoë & Co = 100% + 🎉","last_name":"a+b"}"#;
    let init_data = signed(&[
        ("auth_date", "1700000000"),
        ("start_param", tricky),
        ("user", user),
    ]);
    let data = validate(&init_data).unwrap();
    assert_eq!(data.start_param.as_deref(), Some(tricky));
    let user = data.user.unwrap();
    assert_eq!(user.first_name, "Zoë & Co = 100% + 🎉");
    assert_eq!(user.last_name.as_deref(), Some("a+b"));

    // `+` decodes to a space and `%2B` to a plus, whichever way the client encoded.
    let plus_as_space = signed(&[("auth_date", "1700000000"), ("start_param", "a b")]);
    assert!(plus_as_space.contains("start_param=a+b&"));
    let percent_20 = plus_as_space.replace("a+b", "a%20b");
    assert_eq!(
        validate(&percent_20).unwrap().start_param.as_deref(),
        Some("a b")
    );
    let literal_plus = plus_as_space.replace("a+b", "a%2Bb");
    assert_eq!(validate(&literal_plus), Err(TelegramAuthError::BadHash));
}

#[test]
fn key_order_in_the_input_does_not_matter() {
    let init_data = signed(&[
        ("user", USER),
        ("signature", "sig"),
        ("auth_date", "1700000000"),
        ("query_id", "q"),
        ("chat_type", "private"),
    ]);
    let expected = validate(&init_data).unwrap();
    let mut segments: Vec<&str> = init_data.split('&').collect();
    segments.reverse();
    assert_eq!(validate(&segments.join("&")).unwrap(), expected);
    segments.sort();
    assert_eq!(validate(&segments.join("&")).unwrap(), expected);
    segments.rotate_left(2);
    assert_eq!(validate(&segments.join("&")).unwrap(), expected);
}

#[test]
fn signature_is_covered_by_the_hash() {
    let init_data = signed(&[
        ("auth_date", "1700000000"),
        ("signature", "abc123"),
        ("user", USER),
    ]);
    assert_eq!(
        validate(&init_data).unwrap().signature.as_deref(),
        Some("abc123")
    );
    assert_eq!(
        validate(&with_raw(&init_data, "signature", "abc124")),
        Err(TelegramAuthError::BadHash)
    );
    assert_eq!(
        validate(&without(&init_data, "signature")),
        Err(TelegramAuthError::BadHash)
    );
}

#[test]
fn unknown_fields_are_covered_but_ignored() {
    let init_data = signed(&[
        ("auth_date", "1700000000"),
        ("brand_new_field", "{\"x\":1}"),
        ("user", USER),
    ]);
    assert!(validate(&init_data).is_ok());
    assert_eq!(
        validate(&with_raw(&init_data, "brand_new_field", "y")),
        Err(TelegramAuthError::BadHash)
    );
}

#[test]
fn hash_pairs_given_to_the_signer_are_ignored() {
    let with_hash = signed(&[("hash", "ff"), ("auth_date", "1700000000")]);
    assert_eq!(with_hash, signed(&[("auth_date", "1700000000")]));
    assert!(validate(&with_hash).is_ok());
}

#[test]
fn invalid_fields_after_a_valid_hash() {
    let cases: [(&str, &str, &str); 7] = [
        ("user", "not json", "user"),
        ("user", r#"{"first_name":"no id"}"#, "user"),
        ("user", r#"{"id":"1","first_name":"x"}"#, "user"),
        ("receiver", "[]", "receiver"),
        ("chat", r#"{"id":1,"title":"no type"}"#, "chat"),
        ("can_send_after", "-1", "can_send_after"),
        (
            "can_send_after",
            "99999999999999999999999",
            "can_send_after",
        ),
    ];
    for (key, value, field) in cases {
        let init_data = signed(&[("auth_date", "1700000000"), (key, value)]);
        match validate(&init_data) {
            Err(TelegramAuthError::InvalidField { field: f, reason }) => {
                assert_eq!(f, field, "{key}={value}: {reason}");
                assert!(!reason.is_empty());
            }
            other => panic!("{key}={value}: {other:?}"),
        }
    }
    for date in ["", "+1700000000", "1.7e9", "-1", "abc", " 1700000000"] {
        let init_data = signed(&[("auth_date", date)]);
        assert!(
            matches!(
                validate(&init_data),
                Err(TelegramAuthError::InvalidField {
                    field: "auth_date",
                    ..
                })
            ),
            "auth_date {date:?}"
        );
    }
}

#[test]
fn empty_bot_token_fails_closed() {
    // Data signed with an empty token must not be accepted by a server whose token
    // is unset.
    let init_data = sign_init_data("", &basic_pairs());
    let unset = TelegramAuth::new("  ");
    assert_eq!(
        unset.validate_at(&init_data, at(AUTH_DATE)),
        Err(TelegramAuthError::EmptyBotToken)
    );
    assert!(format!("{unset:?}").contains("<empty>"));
    assert_eq!(
        TelegramAuth::try_new("").unwrap_err(),
        TelegramAuthError::EmptyBotToken
    );
    assert!(TelegramAuth::try_new(TOKEN).is_ok());
}

#[test]
fn debug_and_errors_never_show_the_token() {
    let auth = auth().max_age(Duration::from_secs(7));
    let debug = format!("{auth:?}");
    assert!(
        debug.contains("<redacted>") && debug.contains("7s"),
        "{debug}"
    );
    let secret_key = HmacSha256::new_from_slice(b"WebAppData")
        .unwrap()
        .chain_update(TOKEN)
        .finalize()
        .into_bytes();
    for needle in [TOKEN, "AAE-exws", &hex::encode(secret_key)] {
        assert!(!debug.contains(needle), "{debug}");
    }

    let init_data = signed(&basic_pairs());
    let inputs = [
        String::new(),
        "x".into(),
        format!("{init_data}&auth_date=1"),
        without(&init_data, "hash"),
        with_raw(&init_data, "hash", "zz"),
        with_raw(&init_data, "user", "x"),
        signed(&[("user", USER)]),
        signed(&[("auth_date", "1")]),
        signed(&[("auth_date", "1800000000")]),
        signed(&[("auth_date", "1700000000"), ("user", "{")]),
    ];
    for input in &inputs {
        let err = auth.validate_at(input, at(AUTH_DATE)).unwrap_err();
        let message = err.to_string();
        assert!(!message.contains(TOKEN) && !message.contains("AAE-exws"));
        assert!(message.len() > 30, "{message}");
    }
    let message = TelegramAuthError::EmptyBotToken.to_string();
    assert!(!message.contains(TOKEN));
}

#[test]
fn init_data_from_query_parameter() {
    let init_data = signed(&basic_pairs());
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("v", "1")
        .append_pair("initData", &init_data)
        .append_pair("other", "x")
        .finish();
    let extracted = TelegramAuth::init_data_from_query(&query).unwrap();
    assert_eq!(extracted, init_data);
    assert!(validate(&extracted).is_ok());
    assert_eq!(
        TelegramAuth::init_data_from_query(&format!("?{query}")).as_deref(),
        Some(init_data.as_str())
    );

    for query in [
        "",
        "?",
        "v=1",
        "initdata=x",
        "initData=",
        "initData=a&initData=a",
    ] {
        assert_eq!(TelegramAuth::init_data_from_query(query), None, "{query:?}");
    }
}

#[test]
fn init_data_from_authorization_header() {
    let init_data = signed(&basic_pairs());
    let header = format!("tma {init_data}");
    let extracted = TelegramAuth::init_data_from_authorization(&header).unwrap();
    assert_eq!(extracted, init_data);
    assert!(validate(extracted).is_ok());

    let cases = [
        ("TMA abc", Some("abc")),
        ("Tma\tabc", Some("abc")),
        ("  tma   abc  ", Some("abc")),
        ("tma a b", Some("a b")),
        ("tma", None),
        ("tma ", None),
        ("tma    ", None),
        ("tmaabc", None),
        ("tmax abc", None),
        ("Bearer abc", None),
        ("", None),
        ("é abc", None),
    ];
    for (header, expected) in cases {
        assert_eq!(
            TelegramAuth::init_data_from_authorization(header),
            expected,
            "{header:?}"
        );
    }
}

#[test]
fn auth_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<TelegramAuth>();
    assert_send_sync::<TelegramAuthError>();
    assert_send_sync::<InitData>();
}
