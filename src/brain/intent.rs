//! Built-in intents, zh and en, found by keywords: greeting, thanks, "are you a real person",
//! price, shipping and how-to-order. Keywords are matched on normalized text (full-width folded,
//! lowercase); Latin keywords match whole words only.

use super::text::{contains_keyword, latin_words};

/// Which built-in intents a question shows (several may: "你好，多少钱").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Hits {
    pub greeting: bool,
    pub thanks: bool,
    /// A direct question about the host ("你是真人吗", "are you a bot?", "你叫什么").
    pub are_you_real: bool,
    /// Only a word about AI/robots/virtual hosts, not a direct question about the host.
    pub mentions_ai: bool,
    pub price: bool,
    pub shipping: bool,
    pub how_to_order: bool,
}

/// The commerce intents a FAQ entry or a fact can be tagged with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Commerce {
    Price,
    Shipping,
    HowToOrder,
}

impl Hits {
    /// The commerce intent asked about, by priority: shipping ("运费多少钱" asks about
    /// shipping), then price, then how to order ("怎么买更便宜" asks about price).
    pub(crate) fn commerce(&self) -> Option<Commerce> {
        if self.shipping {
            Some(Commerce::Shipping)
        } else if self.price {
            Some(Commerce::Price)
        } else if self.how_to_order {
            Some(Commerce::HowToOrder)
        } else {
            None
        }
    }
}

const GREETING: &[&str] = &[
    "你好",
    "您好",
    "主播好",
    "大家好",
    "哈喽",
    "哈罗",
    "嗨",
    "晚上好",
    "早上好",
    "中午好",
    "下午好",
    "早安",
    "在吗",
    "来了",
    "报到",
    "打卡",
    "初来乍到",
    "hi",
    "hello",
    "hey",
    "hiya",
    "howdy",
    "good evening",
    "good morning",
    "good afternoon",
    "greetings",
    "what's up",
    "whats up",
    "yo",
];

const THANKS: &[&str] = &[
    "谢谢",
    "感谢",
    "多谢",
    "谢啦",
    "谢了",
    "辛苦了",
    "辛苦啦",
    "3q",
    "thanks",
    "thank you",
    "thank u",
    "thx",
    "ty",
    "appreciate it",
    "cheers",
];

/// Direct questions about the host: answered with the AI disclosure whatever else is asked.
const ARE_YOU_REAL: &[&str] = &[
    "真人吗",
    "是真人",
    "真人还是",
    "不是真人",
    "真人主播",
    "真人在",
    "是人吗",
    "是不是人",
    "活人",
    "真的人",
    "机器人吗",
    "是机器人",
    "是不是机器人",
    "是ai",
    "ai吗",
    "是不是ai",
    "ai主播吗",
    "人工智能吗",
    "是人工智能",
    "虚拟人吗",
    "是虚拟",
    "是数字人",
    "数字人吗",
    "录播吗",
    "是录播",
    "是不是录播",
    "是假人",
    "假人吗",
    "你是谁",
    "你叫什么",
    "叫什么名字",
    "怎么称呼",
    "are you real",
    "are u real",
    "are you a real",
    "real person",
    "real human",
    "actual person",
    "are you human",
    "are you a human",
    "are you a person",
    "are you a bot",
    "are you a robot",
    "are you ai",
    "are you an ai",
    "are you a.i",
    "is this a bot",
    "is this ai",
    "is this real",
    "is this recorded",
    "are you recorded",
    "is this live",
    "who are you",
    "what's your name",
    "whats your name",
    "what is your name",
    "your name",
    "a chatbot",
    "are you a computer",
    "is the host real",
    "is the host ai",
    "is the host a bot",
    "you a bot",
    "u a bot",
    "u a robot",
    "you a robot",
    "r u real",
    "u real",
    "bot?",
];

/// Words about AI or virtual hosts without a direct question about the host.
const MENTIONS_AI: &[&str] = &[
    "ai",
    "a.i",
    "人工智能",
    "机器人",
    "数字人",
    "虚拟",
    "bot",
    "robot",
    "virtual",
    "human",
    "chatbot",
    "automated",
];

const PRICE: &[&str] = &[
    "多少钱",
    "价格",
    "价钱",
    "几块",
    "几元",
    "多少米",
    "多钱",
    "啥价",
    "什么价",
    "优惠",
    "便宜",
    "折扣",
    "打折",
    "划算",
    "贵不贵",
    "贵吗",
    "太贵",
    "好贵",
    "有点贵",
    "券",
    "到手价",
    "售价",
    "满减",
    "性价比",
    "降价",
    "活动价",
    "price",
    "pricing",
    "priced",
    "cost",
    "costs",
    "discount",
    "discounts",
    "coupon",
    "coupons",
    "deal",
    "deals",
    "cheap",
    "cheaper",
    "expensive",
    "sale",
    "promo",
    "promotion",
    "bucks",
    "dollars",
];

const SHIPPING: &[&str] = &[
    "发货",
    "包邮",
    "快递",
    "几天到",
    "多久到",
    "几天能到",
    "多久能到",
    "什么时候到",
    "什么时候发",
    "啥时候发",
    "啥时候到",
    "运费",
    "邮费",
    "物流",
    "顺丰",
    "中通",
    "圆通",
    "韵达",
    "申通",
    "配送",
    "偏远",
    "到货",
    "邮寄",
    "寄到",
    "送到",
    "发什么",
    "ship",
    "ships",
    "shipping",
    "shipped",
    "deliver",
    "delivers",
    "delivery",
    "delivered",
    "arrive",
    "arrives",
    "arrival",
    "postage",
    "courier",
    "dispatch",
    "tracking",
];

const HOW_TO_ORDER: &[&str] = &[
    "怎么买",
    "怎么下单",
    "怎么拍",
    "怎么购买",
    "如何购买",
    "如何下单",
    "在哪买",
    "哪里买",
    "在哪下单",
    "哪里下单",
    "在哪拍",
    "去哪买",
    "哪里拍",
    "链接",
    "小黄车",
    "购物车",
    "拍哪",
    "几号",
    "怎么抢",
    "怎么领",
    "how to buy",
    "how do i buy",
    "how can i buy",
    "how to order",
    "how do i order",
    "how can i order",
    "where to buy",
    "where can i buy",
    "where do i buy",
    "where can i get",
    "how do i get one",
    "how do i get it",
    "how can i get",
    "link",
    "cart",
    "checkout",
    "purchase",
    "place an order",
];

/// Words that turn "how much" into a question about quantity, not price ("how much does it
/// weigh", "how much product is in it").
const HOW_MUCH_QUANTITY: &[&str] = &[
    "weigh", "weighs", "weight", "gram", "grams", "ml", "ounce", "ounces", "oz", "product", "size",
    "volume", "hold", "holds", "contain", "contains", "in", "inside", "last", "time", "left",
];

fn any(text: &str, words: &[&str]) -> bool {
    words.iter().any(|w| contains_keyword(text, w))
}

/// Finds the built-in intents in a normalized text.
pub(crate) fn detect(norm: &str) -> Hits {
    let mut price = any(norm, PRICE) || how_much_price(norm) || has_money_amount(norm);
    // "有什么优惠券" yes; "质量好不好…便宜" yes; "不便宜" still price.
    if norm.contains("多少钱") || norm.contains("价格") {
        price = true;
    }
    let shipping = any(norm, SHIPPING);
    Hits {
        greeting: any(norm, GREETING),
        thanks: any(norm, THANKS),
        are_you_real: any(norm, ARE_YOU_REAL),
        mentions_ai: any(norm, MENTIONS_AI),
        price,
        shipping,
        how_to_order: any(norm, HOW_TO_ORDER),
    }
}

/// "how much is it" / "how much for the cream" ask the price; "how much does it weigh" not.
fn how_much_price(norm: &str) -> bool {
    let words = latin_words(norm);
    words.windows(2).enumerate().any(|(i, w)| {
        w[0] == "how"
            && w[1] == "much"
            && !words[i + 2..]
                .iter()
                .take(5)
                .any(|x| HOW_MUCH_QUANTITY.contains(&x.as_str()))
    })
}

/// "$15", "15块", "15元" in a question ("15块能买吗").
fn has_money_amount(norm: &str) -> bool {
    norm.contains('$') || norm.contains('¥') || norm.contains('￥')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::brain::text::normalize;

    fn d(s: &str) -> Hits {
        detect(&normalize(s))
    }

    #[test]
    fn finds_intents_in_both_languages() {
        assert!(d("主播你好").greeting);
        assert!(d("Hi there!").greeting);
        assert!(!d("this is high quality").greeting);
        assert!(d("谢谢主播").thanks);
        assert!(d("thank you so much").thanks);
        for q in [
            "你是真人吗",
            "主播是机器人吗",
            "你是AI吗",
            "are you real?",
            "Are you a bot",
            "你叫什么名字",
        ] {
            assert!(d(q).are_you_real, "{q}");
        }
        assert!(!d("said hair").mentions_ai);
        assert!(d("数字人好厉害").mentions_ai && !d("数字人好厉害").are_you_real);
        for q in [
            "多少钱",
            "口红价格",
            "有优惠吗",
            "How much is it?",
            "any discount",
            "how much for the cream",
        ] {
            assert_eq!(d(q).commerce(), Some(Commerce::Price), "{q}");
        }
        for q in ["how much does it weigh", "how much product is in it"] {
            assert_eq!(d(q).commerce(), None, "{q}");
        }
        for q in [
            "包邮吗",
            "几天能到",
            "运费多少钱",
            "do you ship to Canada",
            "when will it arrive",
        ] {
            assert_eq!(d(q).commerce(), Some(Commerce::Shipping), "{q}");
        }
        for q in ["怎么买", "链接在哪", "how do I buy it", "where's the link"] {
            assert_eq!(d(q).commerce(), Some(Commerce::HowToOrder), "{q}");
        }
        assert_eq!(d("持久吗").commerce(), None);
        assert_eq!(d("净含量多少").commerce(), None);
    }
}
