#!/bin/sh
# Put ModelWard in the Linux desktop's application menu for the current user:
# the desktop entry into ~/.local/share/applications and the icon PNGs into the
# hicolor theme (~/.local/share/icons/hicolor/NxN/apps/modelward.png), which is
# where the entry's Icon=modelward is looked up. `modelward` must be on PATH
# (the entry runs `modelward gui`). Remove with --uninstall.
set -eu
ROOT=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
SIZES="16 24 32 48 64 128 256"
if [ "${1:-}" = "--uninstall" ]; then
    rm -f "$DATA/applications/modelward.desktop" "$DATA/icons/hicolor/scalable/apps/modelward.svg"
    for n in $SIZES; do rm -f "$DATA/icons/hicolor/${n}x${n}/apps/modelward.png"; done
else
    install -Dm644 "$ROOT/resources/modelward.desktop" "$DATA/applications/modelward.desktop"
    install -Dm644 "$ROOT/resources/icons/modelward.svg" "$DATA/icons/hicolor/scalable/apps/modelward.svg"
    for n in $SIZES; do
        install -Dm644 "$ROOT/resources/icons/modelward-$n.png" "$DATA/icons/hicolor/${n}x${n}/apps/modelward.png"
    done
fi
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$DATA/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$DATA/icons/hicolor" || true
