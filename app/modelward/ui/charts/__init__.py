"""pyqtgraph views over core numbers (STYLE §4): themed plots, score and validation charts."""
