//! Built-in word lists of the compliance filter. Entries are written as a person would type
//! them; [`super::normalize`] folds them (and the text) the same way before matching, so an
//! entry needs no full-width, traditional or upper-case twin.

/// Insults and obscenities, zh + en, with the usual evasions spelled out (`sb`, `cnm`, `f*ck`
/// → `fck`, leet `sh1t`). Latin entries match whole words only; Han entries of two or more
/// characters also match their homophones (`煞笔`, `沙比` for `傻逼`) through pinyin.
#[rustfmt::skip]
pub(super) const PROFANITY: &[&str] = &[
    // zh
    "傻逼", "傻b", "傻比", "傻屄", "傻叉", "傻x", "煞笔", "二逼", "装逼", "牛逼", "逼样", "骚逼", "贱逼",
    "操你", "草你", "艹你", "肏", "日你", "干你娘", "干你妈", "草泥马", "操你妈", "去你妈", "你妈的",
    "你妈逼", "你妈死了", "他妈的", "她妈的", "特么的", "你大爷", "滚蛋", "滚犊子", "滚出去", "去死",
    "狗日的", "狗东西", "贱人", "贱货", "婊子", "骚货", "脑残", "智障", "弱智", "白痴", "蠢货", "蠢猪",
    "废物", "垃圾主播", "辣鸡主播", "屌丝", "屌", "鸡巴", "卧槽", "狗屎", "杂种", "畜生", "畜牲", "王八蛋",
    "混蛋", "龟儿子", "瓜娃子", "妈卖批", "日了狗", "死全家", "全家死", "操蛋", "神经病", "闭嘴",
    // zh, romanized and abbreviated
    "sb", "cnm", "nmsl", "tmd", "wcnm", "mmp", "nmb", "shabi", "caonima",
    // en
    "fuck", "fucking", "fucked", "fucker", "fuckin", "fck", "fcking", "fuk", "fuking", "fuq", "f4ck", "phuck",
    "motherfucker", "mofo", "shit", "shitty", "sht", "sh1t", "bullshit", "bitch", "bitches", "btch", "b1tch",
    "asshole", "a55hole", "arsehole", "dick", "dickhead", "d1ck", "cunt", "bastard", "whore", "slut",
    "retard", "retarded", "idiot", "moron", "dumbass", "jackass", "stfu", "wtf", "gtfo", "nigger",
    "nigga", "faggot", "pussy", "cocksucker", "twat", "wanker", "piss off", "screw you", "kill yourself",
    "kys", "son of a bitch",
];

/// Ordinary words that contain a profanity entry (`去死皮` is an exfoliating product).
#[rustfmt::skip]
pub(super) const PROFANITY_ALLOWED: &[&str] = &[
    "去死皮", "去死角", "去死细胞", "废物利用", "闭嘴唇",
];

/// Phrases that try to make the host repeat, obey or become something (Han, matched on the
/// compact text: separators removed).
#[rustfmt::skip]
pub(super) const INJECTION_ZH: &[&str] = &[
    "跟我念", "跟我读", "跟着我念", "跟着我读", "跟着我说", "跟我一起念", "跟我一起读", "跟我一起说",
    "重复我的话", "重复我说的", "重复一遍我", "重复下面", "重复以下", "重复这句", "复述", "照着说",
    "照着念", "照着读", "照我说的", "照我的话", "原样输出", "原样说", "原样念", "原封不动", "一字不差",
    "一字不改", "一字一句", "逐字", "系统提示", "提示词", "系统指令", "开发者模式", "越狱", "新的指令",
    "新指令", "你的指令", "你的设定", "角色扮演", "假装你是", "假设你是", "假扮", "从现在开始你",
    "从现在起你", "以后你就是", "你不再是", "你的新身份", "猫娘", "没有任何限制", "不受任何限制", "解除限制",
];

/// `忽略…指令`: a trigger followed within [`INJECTION_ZH_GAP`] characters by a target.
#[rustfmt::skip]
pub(super) const INJECTION_ZH_TRIGGERS: &[&str] = &[
    "忽略", "无视", "忘记", "忘掉", "忽视", "不要管", "别管", "抛开", "绕过", "跳过", "不要遵守", "别遵守", "违反",
];
#[rustfmt::skip]
pub(super) const INJECTION_ZH_TARGETS: &[&str] = &[
    "指令", "设定", "规则", "提示词", "提示", "指示", "命令", "人设", "限制", "约束", "系统",
];
pub(super) const INJECTION_ZH_GAP: usize = 8;

/// Conditional phrases: `请说出` only before a quote/colon or `这句`/`以下`/`下面`
/// (`请说出价格` is a question); `你现在是` only outside a question (`你现在是真人吗` is one);
/// `扮演` only before `我`/`一个`/`成` (a role, not a costume).
pub(super) const PLEASE_SAY: &str = "请说出";
pub(super) const YOU_ARE_NOW_ZH: &str = "你现在是";
pub(super) const PLAY_ROLE_ZH: &str = "扮演";

/// English phrases, matched on whole words (`" you are now a "` in the word stream).
#[rustfmt::skip]
pub(super) const INJECTION_EN: &[&str] = &[
    "repeat after me", "say after me", "say exactly", "say precisely", "say the following",
    "repeat exactly", "repeat the following", "word for word", "verbatim", "system prompt",
    "system message", "your prompt", "initial prompt", "original prompt", "hidden prompt",
    "your instructions", "new instructions", "developer mode", "dev mode", "god mode", "dan mode",
    "do anything now", "jailbreak", "jailbroken", "from now on you", "from now on act",
    "from now on respond", "from now on answer", "pretend to be", "pretend you are", "pretend you re",
    "pretend that you are", "roleplay as", "role play as", "act as if you", "act as my",
    "play the role of", "you are no longer", "respond only with", "only respond with",
    "reply only with", "echo back", "say it back",
];

/// `you are now a …`: these beginnings, each followed by one of [`YOU_ARE_NOW_OBJECTS`].
pub(super) const YOU_ARE_NOW_EN: &[&str] = &["you are now", "you re now", "youre now", "u r now"];
#[rustfmt::skip]
pub(super) const YOU_ARE_NOW_OBJECTS: &[&str] = &[
    "a", "an", "my", "the", "in", "dan", "free", "unrestricted", "unfiltered", "jailbroken", "going",
    "playing", "called", "named",
];

/// `ignore … instructions`: a trigger followed within [`INJECTION_EN_GAP`] words by a target.
#[rustfmt::skip]
pub(super) const INJECTION_EN_TRIGGERS: &[&str] = &["ignore", "disregard", "forget", "override", "bypass"];
#[rustfmt::skip]
pub(super) const INJECTION_EN_TARGETS: &[&str] = &[
    "instructions", "instruction", "rules", "prompt", "prompts", "directions", "guidelines",
    "programming", "restrictions", "filters", "guardrails", "constraints", "system",
];
pub(super) const INJECTION_EN_GAP: usize = 4;

/// Han cues that a viewer wants the host to *say* a word (`你就说是全网最低`). An advertising-law
/// or banned word in a message with one of these is bait, not a question.
#[rustfmt::skip]
pub(super) const BAIT_ZH: &[&str] = &[
    "就说", "说一句", "说一声", "说三遍", "说一遍", "大声说", "喊一句", "喊一声", "喊出", "说出", "念出",
    "读出", "念一遍", "读一遍", "打出", "打在公屏", "公屏", "承认", "保证", "宣布", "告诉大家", "跟大家说",
    "对大家说", "告诉所有人", "敢说", "敢不敢", "说是", "说这是", "说它是", "说这个是", "说你们", "说我们",
    "说咱们", "说自己", "说你家", "说这款",
];
/// A cue starting with `说` does not count after these (`听说是`, `据说是`, `小说`).
pub(super) const BAIT_ZH_NOT_AFTER: &[char] = &['听', '据', '传', '小', '解', '游', '演', '再'];
/// A Han verb right before the word (`说最好`, `喊第一`) is a cue too.
pub(super) const BAIT_ZH_VERBS: &[char] = &['说', '念', '读', '喊', '写', '打'];

/// English verbs that, followed by one of [`BAIT_EN_OBJECTS`] or directly by the word, make a
/// listed word bait (`say it's the best`, `admit you are No.1`, `say "best"`).
#[rustfmt::skip]
pub(super) const BAIT_EN_VERBS: &[&str] = &[
    "say", "shout", "type", "write", "repeat", "announce", "admit", "claim", "confirm", "promise",
    "swear", "tell", "call",
];
#[rustfmt::skip]
pub(super) const BAIT_EN_OBJECTS: &[&str] = &[
    "it", "its", "that", "this", "you", "we", "your", "our", "they", "everyone", "everybody",
    "people", "them", "chat",
];

/// Words that announce a contact id (`加我微信 abc123`, `qq 123456`). Latin ones match whole
/// words.
#[rustfmt::skip]
pub(super) const CONTACT_WECHAT: &[&str] = &[
    "微信", "微心", "威信", "薇信", "徽信", "v信", "vx", "wx", "weixin", "wechat", "加v", "+v", "薇",
    "whatsapp", "telegram", "tg", "line",
];
#[rustfmt::skip]
pub(super) const CONTACT_QQ: &[&str] = &["qq", "扣扣", "企鹅", "q号", "球球"];

/// Ads and spam around contact data: with any personal data the message is blocked, not masked.
#[rustfmt::skip]
pub(super) const SPAM_CUES: &[&str] = &[
    "兼职", "日结", "日赚", "月入", "刷单", "代理", "招聘", "招人", "引流", "加群", "进群", "免费领", "免费送",
    "返现", "返利", "私聊", "私信", "私我", "详聊", "有意者", "带你", "赚钱", "副业", "点击", "福利", "约吗",
    "加我", "dm me", "earn", "profit", "crypto", "click",
];

/// Words that carry no question next to contact data (`我的手机号…`, `加我微信…`): what is left
/// of a message after masking, minus these, decides whether anything is left to answer.
#[rustfmt::skip]
pub(super) const CONTACT_FILLER: &[&str] = &[
    "手机号", "手机", "电话", "号码", "联系", "微信", "qq", "vx", "wx", "邮箱", "email", "mail", "身份证",
    "银行卡", "卡号", "地址", "我的", "我是", "加我", "找我", "打给", "有事", "欢迎", "咨询", "客服", "这是",
    "是", "号", "加", "我", "的", "请", "哦", "呀", "啊", "哈", "吧", "来", "my", "is", "me", "call",
    "contact", "number", "phone", "add",
];

/// A display name with one of these advertises a contact and is refused whole.
#[rustfmt::skip]
pub(super) const NAME_CONTACT_WORDS: &[&str] = &[
    "微信", "v信", "vx", "wx", "weixin", "wechat", "qq", "扣扣", "手机", "电话", "加我", "私聊", "联系",
    "whatsapp", "telegram",
];
