"""The open photos behind the window, without Qt: the queue, the shown photo's edit, its
history, and the one rule for what to render next.

Widgets are views of this object: they send it intents (open these photos, these are the
hints now, undo) and subscribe to its events; the engine worker runs the requests it makes
and hands the replies back. What is being rendered is tracked here and nowhere else:

- One request at a time is in flight; a reply to any other request is stale and dropped.
- Photos opened are rendered one after another; while they are, edits wait.
- An edit of the shown photo becomes a wish; the newest wish replaces older ones. A hint
  edit first asks for a quick preview, and once that is painted, for the full result (only
  the full result enters the history). A preview in flight is let finish, so that dragging a
  hint paints previews instead of cancelling each one; a full render in flight gives way to
  a newer wish at once.
- Choosing another history entry drops every wish and in-flight render of the one before.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from autochrome.engine.job_plan import expand_inputs, is_folder
from autochrome.engine.edit import SETTING_NAMES, ColorizeSettings, EditError, RestoreEdit
from autochrome.engine.hints import MAX_HINTS
from autochrome.engine.image_io import DAMAGED

from .events import Event
from .history import History, HistoryEntry
from .hint_set import HintSet

PREVIEW_SIZE = 1024  # long side of a preview: about a screen's worth


@dataclass
class QueueItem:
    label: str
    source: Path | None = None
    data: bytes | None = None
    status: str = "waiting"
    row: object = None  # the view's handle for it


@dataclass
class RenderRequest:
    """What the session asks the engine to render (desktop.worker runs it)."""

    kind: str  # "open" (a queued photo), "full" (the shown photo's edit), "preview", "rebuild"
    settings: dict
    label: str = ""
    source: Path | None = None
    data: bytes | None = None
    image: object = None  # engine.image_io.LoadedImage, once decoded
    original_display: object = None
    hints: list = field(default_factory=list)
    reference: object = None  # engine.reference.ReferencePhoto
    model: str | None = None  # None: the model loaded in the window
    restore: object = None  # engine.edit.RestoreEdit (None or disabled: the photo as it is)
    ab_small: object = None
    rebuilds: HistoryEntry | None = None
    item: QueueItem | None = None
    then_full: bool = False  # a preview of a finished edit: the full result follows
    request_id: int = 0

    @property
    def preview_size(self) -> int:
        return PREVIEW_SIZE if self.kind == "preview" else 0


class PhotoSession:
    def __init__(self, submit, cancel, settings: dict | None = None):
        """`submit(request) -> id` and `cancel(id)` reach the engine."""
        self._submit, self._cancel = submit, cancel
        self.history = History()
        self.hints = HintSet()
        defaults = ColorizeSettings()
        self.settings = {"render_size": defaults.render_size, "saturation": defaults.saturation,
                         "temperature": defaults.temperature, "reach": defaults.reach, **(settings or {})}
        self.reference = None  # the shown photo's reference photo (engine.reference.ReferencePhoto)
        self.restore = RestoreEdit()  # the shown photo's restoration (off until asked for)
        self.model: str | None = None  # the shown photo's model: its own, until another is chosen
        self.queue: list[QueueItem] = []
        self.failures: list[str] = []
        self.model_ready = False
        self.in_flight: RenderRequest | None = None
        self._wanted: RenderRequest | None = None
        self._landing = False  # a result of an edit the user went on with is being added
        self._rebuilds: list[RenderRequest] = []  # released history entries to rebuild, oldest wish first
        # Events: what views subscribe to.
        self.busy_changed = Event()  # (RenderRequest | None)
        self.item_changed = Event()  # (QueueItem)
        self.preview_ready = Event()  # (reply)
        self.result_added = Event()  # (HistoryEntry)
        self.shown_changed = Event()  # (HistoryEntry | None): show it, its hints and its settings
        self.failed = Event()  # (title, message): one request of the shown photo failed
        self.batch_failed = Event()  # (list of messages): the photos of a batch that failed
        self.notice = Event()  # (message): a status line
        self.history.current_changed.connect(self._on_history_current)
        self.hints.changed.connect(self._on_hints_changed)

    # ------------------------------------------------------------------ state

    @property
    def shown(self) -> HistoryEntry | None:
        return self.history.entry()

    @property
    def batch_running(self) -> bool:
        return (self.in_flight is not None and self.in_flight.kind == "open") or any(
            item.status == "waiting" for item in self.queue)

    def is_current(self, request_id: int) -> bool:
        return self.in_flight is not None and self.in_flight.request_id == request_id

    def originals(self) -> list[Path]:
        """Every file the open photos came from, and their reference photos: what no save may replace."""
        files = [entry.source for entry in self.history.entries] + [item.source for item in self.queue]
        references = [entry.reference for entry in self.history.entries] + [self.reference]
        files += [getattr(reference, "path", None) for reference in references]
        return [Path(file) for file in files if file is not None]

    def colorize_settings(self) -> ColorizeSettings:
        return ColorizeSettings(**self.settings)

    @staticmethod
    def colorize_settings_of(entry: HistoryEntry) -> ColorizeSettings:
        """The settings a history entry was rendered with."""
        return ColorizeSettings(**{k: v for k, v in entry.settings.items() if k in SETTING_NAMES})

    # ---------------------------------------------------------------- intents

    def open_paths(self, paths) -> tuple[list[QueueItem], list[str]]:
        """Queue photos (folders contribute the photos inside, as on the command line); the new
        items and the problems found (unreadable folders, folders without photos)."""
        items, problems = [], []
        for path in map(Path, paths):
            if is_folder(path):
                found, unreadable = expand_inputs([path], recursive=True, report_unreadable=True)
                problems += [f"{folder}: {reason}" for folder, reason in unreadable]
                if not found and not unreadable:
                    problems.append(f"{path} holds no photos Autochrome can open.")
                items += [QueueItem(file.name, source=file) for file, _ in found]
            else:
                items.append(QueueItem(path.name, source=path))
        self.queue += items
        self._pump()
        return items, problems

    def open_data(self, data: bytes, label: str) -> QueueItem:
        item = QueueItem(label, data=data)
        self.queue.append(item)
        self._pump()
        return item

    def place_hint(self, x: float, y: float, a: float, b: float) -> int:
        """A new hint holding the colour the result has there. Rendering it would change
        nothing, so the edit is announced once its colour is chosen (`hints.recolour`) or the
        choice is dismissed (`hints.keep_pending`); a result landing meanwhile keeps it.
        -1 (and a notice) when the photo has as many hints as the engine takes."""
        if len(self.hints) >= MAX_HINTS:
            self.notice.emit(f"A photo takes at most {MAX_HINTS} hints; remove one to place another")
            return -1
        return self.hints.add(x, y, a, b, announce=False)

    def set_settings(self, changes: dict) -> None:
        """New render settings (the adjust panel's): the shown photo is rendered again."""
        try:
            ColorizeSettings(**{**self.settings, **changes})
        except (EditError, TypeError) as exc:
            self.notice.emit(f"Not applied: {exc}")
            return
        self.settings.update(changes)
        if set(changes) == {"reach"} and not self.hints.hints:
            return  # how far hints carry changes nothing without hints
        self.render_again()

    def render_again(self) -> None:
        self._wish("full")

    def set_reference(self, reference) -> None:
        """A reference photo for the shown photo (None clears it); preview first, as hints do."""
        self.reference = reference
        self._wish("preview", then_full=True)

    def set_restore(self, **changes) -> None:
        """Restoration switched on or off, or its strength or tone fix changed: rendered again
        (a quick preview first, as hints are)."""
        try:
            restore = replace(self.restore, **changes)
        except (EditError, TypeError) as exc:
            self.notice.emit(f"Not applied: {exc}")
            return
        if restore == self.restore:
            return
        self.restore = restore
        self._wish("preview", then_full=True)

    def add_restore_stroke(self, stroke, final: bool = True) -> None:
        """A brush stroke that marks damage (or unmarks it); it switches restoration on. While
        the stroke is drawn (`final` False) a preview follows it; the finished one is an edit."""
        try:
            restore = replace(self.restore, enabled=True).with_stroke(stroke)
        except EditError as exc:
            self.notice.emit(f"Not applied: {exc}")
            return
        if final:
            self.restore = restore
        # The preview keeps the shown result's colour (its hints and reference applied) and brings
        # only the restored lightness to it: a stroke changes a few pixels' lightness, not what
        # colour things are. The full result after it runs the model on the restored photo.
        entry = self.shown
        self._wish("preview", then_full=final, restore=restore, ab_small=entry.ab_small if entry is not None else None)

    def select(self, index: int) -> None:
        self.history.select(index)

    def undo(self) -> None:
        self.history.undo()

    def redo(self) -> None:
        self.history.redo()

    def cancel(self) -> None:
        """Stop the running render and drop the photos still waiting."""
        self._wanted = None
        for item in self.queue:
            if item.status == "waiting":
                self._set_status(item, "cancelled")
        if self.in_flight is not None:
            self._cancel(self.in_flight.request_id)

    def model_loaded(self, name: str, reloaded: bool) -> None:
        """The engine has a model; a newly chosen one is the shown photo's and renders it again."""
        self.model_ready = True
        self.model = name
        if reloaded and self.shown is not None and self.in_flight is None:
            self._wish("full")
        self._pump()

    def model_failed(self, still_loaded: bool) -> None:
        self.model_ready = still_loaded
        self._pump()

    # --------------------------------------------------------- engine replies

    def finished(self, reply) -> None:
        request = self.in_flight
        if request is None or reply.request_id != request.request_id:
            return  # stale: a newer request replaced it
        self._end()
        if request.kind == "preview":
            self.preview_ready.emit(reply)
            if request.then_full and self._wanted is None:
                self._wish("full")
        elif request.kind == "rebuild":
            if request.rebuilds in self.history.entries:
                self.history.rebuilt(request.rebuilds, reply)
        else:
            if request.item is not None:
                damage = next((note for note in reply.notes if note.startswith(DAMAGED)), None)
                self._set_status(request.item, f"done, {damage}" if damage else "done")
            entry = HistoryEntry.of(reply, reply.label or (reply.source.name if reply.source else "image"),
                                    thumbnail=reply.result_display.thumbnail())
            entry.pasted_data = request.data if reply.source is None else None
            base = self.history.base_for(reply.image) if (reply.hints or reply.reference is not None) else None
            if base is not None:
                entry.base_display, entry.base_rgb = base.reply.result_display, base.reply.rgb
            # The result of an edit the user has gone on with: it joins the history, and the
            # newer edit (hints placed since, a wish not yet rendered) stays the edit.
            self._landing = request.kind == "full" and (self.hints.hints != list(request.hints)
                                                         or self.hints.pending >= 0)
            try:
                self.history.add(entry)
            finally:
                self._landing = False
            self.result_added.emit(entry)
        self._pump()

    def failed_request(self, request_id: int, message: str) -> None:
        request = self.in_flight
        if request is None or request.request_id != request_id:
            return
        self._end()
        if request.item is not None:
            self._set_status(request.item, f"failed: {message}")
            self.failures.append(message if request.item.label in message else f"{request.item.label}: {message}")
        else:
            self.failed.emit("Could not colorize", message)
        self._pump()

    def cancelled(self, request_id: int) -> None:
        request = self.in_flight
        if request is None or request.request_id != request_id:
            return
        self._end()
        if request.item is not None:
            self._set_status(request.item, "cancelled")
        self.notice.emit("Cancelled")
        self._pump()

    # -------------------------------------------------------------- the rule

    def _wish(self, kind: str, then_full: bool = False, restore=None, ab_small=None) -> None:
        """The shown photo, rendered with its edit as it is now; replaces any earlier wish."""
        entry = self.shown
        if entry is None or not entry.available:
            return
        reply = entry.reply
        self._wanted = RenderRequest(kind, dict(self.settings), reply.label, reply.source, entry.pasted_data,
                                     reply.image, reply.original_display, list(self.hints.hints), self.reference,
                                     self.model or entry.model_name, ab_small=ab_small, then_full=then_full,
                                     restore=restore if restore is not None else self.restore)
        self._pump()

    def _pump(self) -> None:
        if not self.model_ready:
            return
        if self.in_flight is not None:
            wanted = self._wanted
            if wanted is None or self.in_flight.kind in ("open", "preview", "rebuild"):
                return  # a batch runs on; a preview is let finish so it is painted
            self._wanted = None
            self._start(wanted)  # a full render gives way to the newer edit (the worker drops the old)
            return
        if self._wanted is not None:
            wanted, self._wanted = self._wanted, None
            self._start(wanted)
            return
        self._rebuilds = [r for r in self._rebuilds if r.rebuilds in self.history.entries and not r.rebuilds.available]
        if self._rebuilds:
            self._start(self._rebuilds.pop(0))
            return
        waiting = next((item for item in self.queue if item.status == "waiting"), None)
        if waiting is None:
            self.queue = [item for item in self.queue if item.status in ("waiting", "colorizing")]
            if self.failures:
                failures, self.failures = self.failures, []
                self.batch_failed.emit(failures)
            return
        self._set_status(waiting, "colorizing")
        self._start(RenderRequest("open", dict(self.settings), waiting.label, waiting.source, waiting.data,
                                  item=waiting))

    def _start(self, request: RenderRequest) -> None:
        request.request_id = self._submit(request)
        self.in_flight = request
        self.busy_changed.emit(request)

    def _end(self) -> None:
        self.in_flight = None
        self.busy_changed.emit(None)

    def _set_status(self, item: QueueItem, status: str) -> None:
        item.status = status
        self.item_changed.emit(item)

    # ------------------------------------------------------------ reactions

    def _on_hints_changed(self, final: bool) -> None:
        if self.shown is not None and self.shown.available and not self.batch_running:
            self._wish("preview", then_full=final)

    def _on_history_current(self, index: int) -> None:
        entry = self.shown
        if self._landing:
            self.shown_changed.emit(entry)
            return
        self._wanted = None
        if self.in_flight is not None and self.in_flight.kind != "open":
            self._cancel(self.in_flight.request_id)  # its reply would belong to the entry before
            self._end()
        if entry is not None:
            # The shown result's edit is the edit from now on: its hints, reference, restoration and settings.
            self.hints.replace_all(entry.hints)
            self.reference = entry.reference
            self.restore = entry.restore if entry.restore is not None else RestoreEdit()
            self.model = entry.model_name
            self.settings.update({k: v for k, v in entry.settings.items() if k in self.settings})
            if entry.restorable:
                same_photo = next((e.reply for e in reversed(self.history.entries)
                                   if e.available and entry.source is not None and e.reply.source == entry.source), None)
                image = same_photo.image if same_photo is not None else None
                # During a batch it runs before the next photo of the batch, and is kept when a
                # batch result lands (the rebuilt result is then there when the user comes back to it).
                self._rebuilds = [r for r in self._rebuilds if r.rebuilds is not entry]
                self._rebuilds.append(RenderRequest("rebuild", dict(entry.settings), entry.title, entry.source,
                                             entry.pasted_data, image=image,
                                             original_display=same_photo.original_display if same_photo else None,
                                             hints=entry.hints, ab_small=entry.ab_small, rebuilds=entry,
                                             model=entry.model_name, restore=entry.restore))
                if self.batch_running:
                    self.notice.emit(f"This older result of {entry.title} is rebuilt after the photo being colorized")
            elif not entry.available:
                self.notice.emit(f"This older result of {entry.title} was let go to keep memory in bounds; "
                                 "open the photo again to colorize it anew")
        self.shown_changed.emit(entry)
        self._pump()


def scaled_hints(hints: list, full_size: tuple[int, int], small_size: tuple[int, int]) -> list:
    """Hints in a reduced copy's pixels: each axis by its own factor (the short side was
    rounded), kept inside the copy."""
    (width, height), (small_w, small_h) = full_size, small_size
    return [replace(h, x=min(h.x * small_w / width, small_w - 1e-3), y=min(h.y * small_h / height, small_h - 1e-3))
            for h in hints]
