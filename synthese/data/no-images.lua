-- Proceedings never fetch or embed what a participant linked as an image:
-- each image becomes its description (pandoc also runs with --sandbox).
function Image (image)
  return image.caption
end

-- pandoc's CommonMark reader always reads raw HTML: show it as typed, as
-- the published page does (synthese/rendering.py), rather than obey it.
function RawInline (raw)
  return pandoc.Str(raw.text)
end

function RawBlock (raw)
  return pandoc.Para({ pandoc.Str(raw.text) })
end
