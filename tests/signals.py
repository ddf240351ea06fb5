from django.dispatch import Signal

search_done = Signal()
formats_sent = Signal()
