// Keyboard shortcuts of the canvas: undo/redo, copy/paste, delete; none while the user types in a field.

import { useEffect, useRef } from "react";

export interface Shortcuts {
  undo(): void;
  redo(): void;
  copy(): void;
  paste(): void;
  deleteSelection(): void;
}

function isTyping(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

export function useKeyboardShortcuts(shortcuts: Shortcuts) {
  // one listener for the page's life; it calls the latest actions
  const latest = useRef(shortcuts);
  latest.current = shortcuts;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (isTyping(e.target)) return;
      const { undo, redo, copy, paste, deleteSelection } = latest.current;
      const mod = e.ctrlKey || e.metaKey;
      const key = e.key.toLowerCase();
      if (mod && key === "z" && !e.shiftKey) undo();
      else if (mod && ((key === "z" && e.shiftKey) || key === "y")) redo();
      else if (mod && key === "c") copy();
      else if (mod && key === "v") paste();
      else if (!mod && (e.key === "Delete" || e.key === "Backspace")) deleteSelection();
      else return;
      e.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}
