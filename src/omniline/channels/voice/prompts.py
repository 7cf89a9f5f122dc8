"""What the phone says when neither a flow nor an admin said it, in the languages we ship."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "press": {
        "en": "For {label}, press {n}.",
        "ru": "{label} — нажмите {n}.",
        "uk": "{label} — натисніть {n}.",
    },
    "operator": {
        "en": "To speak to an operator, press {n}.",
        "ru": "Чтобы поговорить с оператором, нажмите {n}.",
        "uk": "Щоб поговорити з оператором, натисніть {n}.",
    },
    "welcome": {
        "en": "Thank you for calling. Please stay on the line.",
        "ru": "Спасибо за звонок. Пожалуйста, оставайтесь на линии.",
        "uk": "Дякуємо за дзвінок. Будь ласка, залишайтеся на лінії.",
    },
    "position": {
        "en": "You are number {n} in line.",
        "ru": "Ваш номер в очереди: {n}.",
        "uk": "Ваш номер у черзі: {n}.",
    },
    "wait": {
        "en": "The expected wait is about {m} minutes.",
        "ru": "Ожидаемое время ожидания — около {m} мин.",
        "uk": "Очікуваний час очікування — близько {m} хв.",
    },
    "offer_callback": {
        "en": "To be called back instead of waiting, press {n}. You keep your place in line.",
        "ru": "Чтобы мы перезвонили вам, нажмите {n}. Ваше место в очереди сохранится.",
        "uk": "Щоб ми вам передзвонили, натисніть {n}. Ваше місце в черзі збережеться.",
    },
    "callback_taken": {
        "en": "Thank you. We will call you back as soon as an operator is free. Goodbye.",
        "ru": "Спасибо. Мы перезвоним вам, как только освободится оператор. До свидания.",
        "uk": "Дякуємо. Ми передзвонимо вам, щойно звільниться оператор. До побачення.",
    },
    "max_wait": {
        "en": "All our operators are still busy. We will call you back. Goodbye.",
        "ru": "Все операторы по-прежнему заняты. Мы вам перезвоним. До свидания.",
        "uk": "Усі оператори досі зайняті. Ми вам передзвонимо. До побачення.",
    },
    "transfer": {
        "en": "Please hold while we transfer your call.",
        "ru": "Пожалуйста, подождите, мы переводим ваш звонок.",
        "uk": "Будь ласка, зачекайте, ми переводимо ваш дзвінок.",
    },
    "csat": {
        "en": "Please rate the conversation from 1 to 5, where 5 is excellent.",
        "ru": "Пожалуйста, оцените разговор от 1 до 5, где 5 — отлично.",
        "uk": "Будь ласка, оцініть розмову від 1 до 5, де 5 — відмінно.",
    },
    "thanks": {
        "en": "Thank you. Goodbye.",
        "ru": "Спасибо. До свидания.",
        "uk": "Дякуємо. До побачення.",
    },
    "callback_agent": {
        "en": "Callback to {number}. Connecting.",
        "ru": "Обратный звонок на номер {number}. Соединяю.",
        "uk": "Зворотний дзвінок на номер {number}. З'єдную.",
    },
    "callback_no_answer": {
        "en": "The customer did not answer. The callback is rescheduled.",
        "ru": "Клиент не ответил. Обратный звонок перенесён.",
        "uk": "Клієнт не відповів. Зворотний дзвінок перенесено.",
    },
    "no_agents": {
        "en": "Sorry, no operator can take your call now. Please call again later.",
        "ru": "К сожалению, сейчас никто из операторов не может ответить. Позвоните позже.",
        "uk": "На жаль, зараз жоден оператор не може відповісти. Зателефонуйте пізніше.",
    },
}


def text(key: str, language: str, **values: object) -> str:
    options = TEXTS[key]
    template = options.get(language) or options.get((language or "")[:2]) or options["en"]
    return template.format(**values)
