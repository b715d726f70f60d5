"""indicator page (being written)."""

import streamlit as st

from warehouse import app_state

state = app_state.current()
st.info("建设中 / under construction")
