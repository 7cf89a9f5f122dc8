"""Questions no lender's FAQ answers, in the languages we ship: small talk, weather, jokes.

A workspace's FAQ rarely comes with examples of what it should refuse. A customer's question
that is closer (in the multilingual embedding space) to one of these phrases than to every FAQ
example is not answered: the bot says it did not understand instead of guessing.
"""

from __future__ import annotations

PHRASES = [
    # English
    "hello there",
    "good morning",
    "thanks a lot",
    "what is the weather like tomorrow",
    "tell me a joke",
    "who won the football match yesterday",
    "play some music for me",
    "recommend a good film to watch",
    "how do I cook pasta",
    "what time is it in Tokyo",
    "are you a robot",
    "what is the capital of Australia",
    "my cat is sleeping on the sofa",
    "which phone should I buy",
    "how tall is the tallest mountain",
    # Russian
    "привет",
    "добрый вечер",
    "спасибо большое",
    "какая завтра погода",
    "расскажи анекдот",
    "кто выиграл вчерашний матч",
    "включи музыку",
    "посоветуй хороший фильм",
    "как приготовить борщ",
    "сколько сейчас времени в Москве",
    "ты робот",
    "какая столица Австралии",
    "у меня кот спит на диване",
    "какой телефон купить",
    "что посмотреть на выходных",
    # Ukrainian
    "вітаю",
    "добрий вечір",
    "дуже дякую",
    "яка завтра погода",
    "розкажи анекдот",
    "хто виграв учорашній матч",
    "увімкни музику",
    "порадь гарний фільм",
    "як приготувати вареники",
    "котра зараз година",
    "ти робот",
    "яка столиця Австралії",
    "мій кіт спить на дивані",
    "який телефон купити",
    "куди піти у вихідні",
]
