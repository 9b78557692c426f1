"""Entry point of the Gradio app (``python app.py``; also the Hugging Face Space's ``app_file``)."""

from arch_lab.ui import build_app, launch

demo = build_app()

if __name__ == "__main__":
    launch(demo)
