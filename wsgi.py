from verify_api import create_app

app = create_app()
