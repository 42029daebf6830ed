"""Voice: audio as data. PCM conversion (:mod:`.pcm`), clips (:mod:`.clip`), the store of a
conversation's audio (:mod:`.store`), the WAV timeline (:mod:`.timeline`), saved audio
(:mod:`.archive`) and the facade's part (:mod:`.mixin`)."""

from .clip import AudioClip
from .mixin import NoAudioError

__all__ = ["AudioClip", "NoAudioError"]
