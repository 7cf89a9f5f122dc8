"""What the bot says when a flow does not say it itself, in the languages we ship."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "not_understood": {
        "en": "Sorry, I did not understand. Please choose one of the options.",
        "ru": "Извините, я не понял. Пожалуйста, выберите один из вариантов.",
        "uk": "Вибачте, я не зрозумів. Будь ласка, оберіть один із варіантів.",
    },
    "retry": {
        "en": "That does not look right. Please try again.",
        "ru": "Похоже, здесь ошибка. Попробуйте ещё раз.",
        "uk": "Схоже, тут помилка. Спробуйте ще раз.",
    },
    "handoff": {
        "en": "I am passing you to a colleague. Please wait a moment.",
        "ru": "Передаю вас специалисту. Пожалуйста, подождите.",
        "uk": "Передаю вас фахівцю. Будь ласка, зачекайте.",
    },
    "reminder": {
        "en": "Are you still there? Reply to continue.",
        "ru": "Вы ещё здесь? Ответьте, чтобы продолжить.",
        "uk": "Ви ще тут? Дайте відповідь, щоб продовжити.",
    },
    "closed_silence": {
        "en": "We closed this chat as there was no reply. Write again any time.",
        "ru": "Мы закрыли диалог, так как не получили ответа. Пишите в любое время.",
        "uk": "Ми закрили діалог, бо не отримали відповіді. Пишіть будь-коли.",
    },
    "choose_number": {
        "en": "Reply with the number of your choice.",
        "ru": "Ответьте номером выбранного варианта.",
        "uk": "Дайте відповідь номером обраного варіанта.",
    },
}


def text(key: str, language: str) -> str:
    options = TEXTS[key]
    return options.get(language) or options.get(language.split("-")[0]) or options["en"]
