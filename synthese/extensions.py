"""Flask extensions, created unbound and initialised by the app factory."""
from flask_migrate import Migrate
from flask_smorest import Api
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


class JsonErrorApi(Api):
    """flask-smorest, answering errors in our JSON shape (errors.json_error)."""

    def handle_http_exception(self, error):
        from .web.errors import handle_http_exception

        return handle_http_exception(error)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
api = JsonErrorApi()
socketio = SocketIO()
